export * from './runpod.client.js';
