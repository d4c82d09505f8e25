/** The authenticated caller of a `/v1` route, attached to the request by the client token guard. */
export interface ClientPrincipal {
  clientId: number;
  clientName: string;
  tokenId: number;
  /** Public model names the client may call; null allows all. */
  allowedModels: string[] | null;
  /**
   * Whether any rate limit or budget is set. A client without one takes no holds at admission, which saves a
   * write on the hot path; like the rest of the principal it may be up to `proxy.lookupCacheMs` old.
   */
  hasLimits: boolean;
}
