/** The ceiling: a bare node:http server that reads the same POST and answers the same JSON. */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 3199);
createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { job_id: string };
    const text = JSON.stringify({
      status: 'success',
      job_id: body.job_id,
      message: 'Log message received and queued',
    });
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  });
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
