import { Module } from "@nestjs/common";

import { ClientsModule } from "../clients/clients.module";
import { ProvidersModule } from "../providers/providers.module";
import { DemoSeeder } from "./demo-seeder.service";

/** Offline demo: a stand-in provider and a seeded client. Loaded only when `demo.enabled` is true. */
@Module({ imports: [ClientsModule, ProvidersModule], providers: [DemoSeeder] })
export class DemoModule {}
