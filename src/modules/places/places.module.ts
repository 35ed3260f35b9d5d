import { Module } from '@nestjs/common';
import { PlacesController } from './places.controller.js';
import { PlaceListCache } from './place-list-cache.js';
import { PlaceReceipts } from './place-receipts.js';
import { PlacesService } from './places.service.js';

/** Stored places: listing, export, and the de-duplicating batch store the scraper writes through. */
@Module({
  controllers: [PlacesController],
  providers: [PlacesService, PlaceReceipts, PlaceListCache],
  exports: [PlacesService],
})
export class PlacesModule {}
