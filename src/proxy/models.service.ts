import { Injectable } from "@nestjs/common";

import { ClientPrincipal } from "../clients/client-principal";
import { ModelResolver } from "../providers/model-resolver.service";

export interface ModelList {
  object: "list";
  data: { id: string; object: "model"; created: number; owned_by: string }[];
}

/** Serves `GET /v1/models` in OpenAI's list format from the configured models. */
@Injectable()
export class ModelsService {
  constructor(private readonly resolver: ModelResolver) {}

  async list(principal: ClientPrincipal): Promise<ModelList> {
    const models = await this.resolver.publicNames();
    const visible =
      principal.allowedModels === null
        ? models
        : models.filter((model) =>
            principal.allowedModels!.includes(model.name),
          );

    return {
      object: "list",
      data: visible.map((model) => ({
        id: model.name,
        object: "model",
        created: model.createdAt,
        owned_by: model.providerName,
      })),
    };
  }
}
