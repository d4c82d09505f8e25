/** The authenticated caller of a `/v1` route, attached to the request by the client token guard. */
export interface ClientPrincipal {
  clientId: number;
  clientName: string;
  tokenId: number;
  /** Public model names the client may call; null allows all. */
  allowedModels: string[] | null;
}
