//! Logs and traces.
//!
//! Every service logs through `tracing`: human-readable lines by default, one JSON object per line
//! when configured. When `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans are also exported over OTLP
//! (HTTP/protobuf) and W3C `traceparent` propagation is installed, so a trace continues from the
//! gateway through the broker to the last consumer.

use std::collections::{HashMap, HashSet};

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::LogFormat;

/// Keeps the exporter alive; flushes pending spans when dropped.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("failed to flush traces: {error}");
        }
    }
}

/// Installs the global subscriber for a service. `RUST_LOG` overrides `filter`.
pub fn init(service: &'static str, format: LogFormat, filter: &str) -> anyhow::Result<TelemetryGuard> {
    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(filter))?;
    let fmt = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_target(false).boxed(),
        LogFormat::Json => {
            tracing_subscriber::fmt::layer().json().flatten_event(true).with_current_span(true).boxed()
        }
    };

    let provider = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(otlp_provider(service)?),
        _ => None,
    };
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service)));

    tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init()?;
    Ok(TelemetryGuard { provider })
}

fn otlp_provider(service: &'static str) -> anyhow::Result<SdkTracerProvider> {
    // The endpoint, headers and timeout come from the standard OTEL_EXPORTER_OTLP_* variables.
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build()?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(service).build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(provider)
}

/// For tests: logs to the test writer at `PENNY_TEST_LOG` level (off by default), once.
pub fn init_for_test() {
    let filter = std::env::var("PENNY_TEST_LOG").unwrap_or_else(|_| "off".into());
    let _ = tracing_subscriber::fmt().with_env_filter(EnvFilter::new(filter)).with_test_writer().try_init();
}

/// The current span's trace context as message headers (`traceparent`, `tracestate`).
pub fn trace_headers() -> HashMap<String, String> {
    span_headers(&tracing::Span::current())
}

/// `span`'s trace context as message headers (`traceparent`, `tracestate`); empty when no
/// OpenTelemetry layer records spans.
pub fn span_headers(span: &tracing::Span) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut MapInjector(&mut headers));
    headers
}

/// The most traces one span links to (the SDK's default limit on links).
const MAX_LINKS: usize = 128;

/// Makes `span` a child of the trace carried in `headers`, if any.
pub fn continue_trace(span: &tracing::Span, headers: &HashMap<String, String>) {
    let context = TraceContextPropagator::new().extract(&MapExtractor(headers));
    // A span that is not sampled, or a subscriber without OpenTelemetry, just ignores the parent.
    let _ = span.set_parent(context);
}

/// Makes `span` a child of the trace carried by the first of `carriers` and links it to the
/// other traces they carry (each distinct trace once, up to 128): a batch consumed in one span
/// then shows up in the trace of every message in it.
pub fn continue_traces<'a>(
    span: &tracing::Span,
    carriers: impl IntoIterator<Item = &'a HashMap<String, String>>,
) {
    let propagator = TraceContextPropagator::new();
    let mut carriers = carriers.into_iter();
    let Some(first) = carriers.next() else { return };
    let parent = propagator.extract(&MapExtractor(first));
    let parent_trace = parent.span().span_context().trace_id();
    if span.set_parent(parent).is_err() {
        // No OpenTelemetry layer: nothing would record the links either.
        return;
    }
    let mut seen = HashSet::from([parent_trace]);
    for headers in carriers {
        if seen.len() > MAX_LINKS {
            break;
        }
        let context = propagator.extract(&MapExtractor(headers));
        let linked = context.span().span_context().clone();
        if linked.is_valid() && seen.insert(linked.trace_id()) {
            span.add_link(linked);
        }
    }
}

struct MapInjector<'a>(&'a mut HashMap<String, String>);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

struct MapExtractor<'a>(&'a HashMap<String, String>);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}
