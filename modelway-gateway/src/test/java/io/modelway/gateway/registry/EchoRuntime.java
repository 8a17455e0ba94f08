package io.modelway.gateway.registry;

import io.modelway.backend.BackendCall;
import io.modelway.backend.BackendResponse;
import io.modelway.runtime.ModelRuntime;
import java.nio.charset.StandardCharsets;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A model that answers every chat call with the name of the worker it runs in, so a test sees
 * which worker answered. Only the registry and routing around it are under test.
 */
public final class EchoRuntime implements ModelRuntime {
  private final String model;
  private final String worker;

  public EchoRuntime(String model, String worker) {
    this.model = model;
    this.worker = worker;
  }

  @Override
  public String name() {
    return model;
  }

  @Override
  public Mono<BackendResponse> send(BackendCall call) {
    byte[] body = ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":0,\"model\":\""
        + model + "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
        + worker + "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,"
        + "\"completion_tokens\":1,\"total_tokens\":2}}").getBytes(StandardCharsets.UTF_8);
    return Mono.just(new BackendResponse(200, "application/json", body.length, Flux.just(body)));
  }

  @Override
  public Load load() {
    return new Load(2, 0, 0, 0);
  }

  @Override
  public void close() {}
}
