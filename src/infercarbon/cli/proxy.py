"""``infercarbon proxy``: meter an OpenAI-compatible server (vLLM, SGLang, TGI, Ollama, ...)
without changing it.  See docs/proxy.md.

::

    infercarbon proxy --upstream http://vllm:8000 --port 8080 --ledger proxy.duckdb \
        --region DE --sensor nvml
    infercarbon proxy --upstream http://vllm:8000 --server http://ic:8000 --key ic_... \
        --region DE --sensor prometheus --prometheus-url http://prom:9090 \
        --prometheus-selector 'Hostname="node-1",gpu="0"'
    infercarbon proxy --upstream http://vllm:8000 --ledger l.duckdb --region DE \
        --gpu H100 --gpus 1 --model-params-b 8          # modelled (LLM estimator)
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from infercarbon.errors import ConfigurationError, InputError


def _sensor(name: str, url: str | None, selector: str, metric: str, scrape_s: float) -> Any:
    from infercarbon.telemetry import detect

    if name == "prometheus":
        if not url:
            raise InputError("--sensor prometheus needs --prometheus-url", field="prometheus_url")
        import httpx

        source, _ = detect(
            "prometheus",
            prometheus_client=httpx.Client(base_url=url, timeout=10.0),
            prometheus_metric=metric,
            prometheus_selector=selector,
            scrape_interval_s=scrape_s,
        )
        return source
    source, _ = detect(name)
    return source


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def proxy(
    upstream: Annotated[
        str, typer.Option(help="the OpenAI-compatible server, e.g. http://vllm:8000")
    ],
    region: Annotated[
        str, typer.Option(help="grid region of the servers (id, ISO code, cloud region)")
    ],
    port: Annotated[int, typer.Option(help="port to listen on")] = 8080,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    ledger: Annotated[
        str | None, typer.Option(help="record events in this ledger (DuckDB path or postgresql://)")
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="ship events to this infercarbon server instead")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="API key for --server (default $INFERCARBON_KEY)")
    ] = None,
    sensor: Annotated[
        str | None,
        typer.Option(help="measured energy: nvml, rapl, amd-hwmon, cpu-model, auto or prometheus"),
    ] = None,
    prometheus_url: Annotated[
        str | None, typer.Option(help="Prometheus base URL (--sensor prometheus)")
    ] = None,
    prometheus_selector: Annotated[
        str, typer.Option(help='label matchers, e.g. \'Hostname="n1",gpu="0"\' or \'pod="vllm-0"\'')
    ] = "",
    prometheus_metric: Annotated[
        str, typer.Option(help="dcgm-energy | dcgm-power | kepler")
    ] = "dcgm-energy",
    scrape_interval: Annotated[
        float, typer.Option(help="Prometheus scrape interval of the metric [s]")
    ] = 15.0,
    gpu: Annotated[str | None, typer.Option(help="modelled mode: GPU model (e.g. H100)")] = None,
    gpus: Annotated[int, typer.Option(help="modelled mode: GPUs per model replica")] = 1,
    model_params_b: Annotated[
        float | None, typer.Option(help="modelled mode: model size [billion parameters]")
    ] = None,
    service: Annotated[str, typer.Option(help="service label of the events")] = "llm",
    device: Annotated[str, typer.Option(help="device label of the events")] = "gpu",
    tenant: Annotated[str, typer.Option(help="tenant when the request names none")] = "default",
    tenant_header: Annotated[
        str | None, typer.Option(help="request header naming the tenant (set by a trusted gateway)")
    ] = None,
    tenant_keys: Annotated[
        Path | None, typer.Option(help="JSON {api-key or its sha256: tenant}")
    ] = None,
    timeout: Annotated[float, typer.Option(help="upstream timeout [s]")] = 600.0,
    poll: Annotated[
        float | None,
        typer.Option(help="sensor poll period [s] (default 1, Prometheus: the scrape interval)"),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
) -> None:
    """Meter an OpenAI-compatible server: forward every request unchanged, record one event
    per completion/embedding request with tokens and attributed (or modelled) energy."""
    try:
        import uvicorn

        from infercarbon.instrument.proxied import LlmServing
        from infercarbon.service.middleware import RegionDiscloser
        from infercarbon.service.proxy import LedgerSink, ProxyRuntime, load_key_tenants
    except ImportError as exc:
        raise ConfigurationError(
            f"{exc}; install the service extra: pip install 'infercarbon[service]'"
        ) from exc
    if (ledger is None) == (server is None):
        raise InputError(
            "give --ledger PATH or --server URL (with --key), exactly one", field="ledger"
        )
    modelled = gpu is not None or model_params_b is not None
    if modelled and sensor is not None:
        raise InputError(
            "--sensor measures; --gpu/--model-params-b model: give one", field="sensor"
        )
    if not modelled and sensor is None:
        raise InputError(
            "give --sensor (measured) or --gpu, --gpus, --model-params-b (modelled)", field="sensor"
        )
    llm = None
    src = None
    if modelled:
        if gpu is None or model_params_b is None:
            raise InputError(
                "modelled mode needs both --gpu and --model-params-b",
                field="model_params_b" if gpu else "gpu",
            )
        llm = LlmServing(params_b=model_params_b, gpu=gpu, gpus=gpus)
    else:
        assert sensor is not None
        src = _sensor(
            sensor, prometheus_url, prometheus_selector, prometheus_metric, scrape_interval
        )
    discloser = RegionDiscloser(region)
    labels = {"service": service, "region": discloser.region.region_id, "device": device}
    shipper = None
    sink: Any
    if ledger is not None:
        sink = LedgerSink(ledger)
    else:
        import httpx

        from infercarbon.instrument.shipper import EventShipper

        api_key = key or os.environ.get("INFERCARBON_KEY")
        if not api_key:
            raise InputError("--server needs --key or $INFERCARBON_KEY", field="key")
        assert server is not None
        shipper = EventShipper(
            httpx.Client(base_url=server, timeout=30.0),
            api_key,
            Path("infercarbon-proxy-spool.jsonl"),
        )

        def sink(events: list[dict[str, Any]]) -> None:
            for e in events:
                shipper.submit(e)

    keys = load_key_tenants(str(tenant_keys)) if tenant_keys is not None else None
    poll_s = poll if poll is not None else (scrape_interval if sensor == "prometheus" else 1.0)
    rt = ProxyRuntime(
        upstream,
        sink,
        labels=labels,
        sensor=src,
        llm=llm,
        poll_s=poll_s,
        timeout_s=timeout,
        discloser=discloser,
        default_tenant=tenant,
        tenant_header=tenant_header,
        key_tenants=keys,
        max_hold_s=max(120.0, 4 * poll_s),
    ).start()
    if rt.poller is not None and rt.poller.errors:
        typer.echo(
            f"infercarbon proxy: warning: the first sensor read failed "
            f"({rt.poller.last_error}); requests are forwarded, and events are written "
            "once readings arrive (or dropped after max_hold_s, counted)",
            err=True,
        )
    mode = f"measured ({sensor})" if src is not None else f"modelled ({gpu}, {model_params_b}B)"
    typer.echo(
        f"infercarbon proxy: http://{host}:{port} -> {upstream}; energy {mode}; "
        f"events -> {ledger or server}",
        err=True,
    )
    # uvicorn re-raises SIGTERM after its graceful shutdown; make that an exception here so
    # that the events still in memory are recorded below (the CLI, not the library, does it)
    previous = signal.signal(signal.SIGTERM, _sigterm)
    try:
        uvicorn.run(
            rt.app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on"
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
        rt.stop()
        if shipper is not None:
            shipper.close()
        if isinstance(sink, LedgerSink):
            sink.close()
        typer.echo(f"infercarbon proxy: {rt.stats()}", err=True)


def register(app: typer.Typer) -> None:
    app.command("proxy")(proxy)
