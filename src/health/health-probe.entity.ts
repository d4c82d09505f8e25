import { Entity, PrimaryKey, Property } from "@mikro-orm/core";

/** One row per replica, rewritten by each readiness check to prove the database takes writes. */
@Entity({ tableName: "health_probes" })
export class HealthProbe {
  @PrimaryKey({ type: "string", length: 200 })
  replica!: string;

  @Property({ type: "datetime" })
  checkedAt!: Date;
}
