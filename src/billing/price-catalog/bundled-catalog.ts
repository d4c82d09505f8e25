import catalogData from "./catalog.json";
import { loadPriceCatalog, PriceCatalog } from "./price-catalog";

/**
 * The catalog shipped with the product (`catalog.json`), validated when this module is first imported, so a
 * broken catalog stops the service and the CLI at start-up with the entry and field it breaks.
 *
 * Each entry records its price page and the date its prices were last checked. Prices change; an operator who
 * sees a newer price gives it explicitly when creating or updating a model config.
 */
export const BUNDLED_PRICE_CATALOG: PriceCatalog =
  loadPriceCatalog(catalogData);
