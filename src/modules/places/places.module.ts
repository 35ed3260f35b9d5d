import { Module } from '@nestjs/common';
import { PlacesController } from './places.controller.js';
import { PlaceReceipts } from './place-receipts.js';
import { PlacesService } from './places.service.js';

/** Stored places: listing, export, and the de-duplicating batch store the scraper writes through. */
@Module({
  controllers: [PlacesController],
  providers: [PlacesService, PlaceReceipts],
  exports: [PlacesService],
})
export class PlacesModule {}
