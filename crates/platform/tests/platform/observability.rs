//! Metrics and traces of the messaging layer against the real RabbitMQ and PostgreSQL.

use std::collections::HashSet;
use std::time::Duration;

use diesel_async::AsyncPgConnection;
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use penny_contract::events::{UserDeleted, UserRegistered};
use penny_contract::{Envelope, UserId};
use penny_platform::broker::consumer::{ConsumerConfig, Delivered, Handler, HandlerError};
use penny_platform::broker::publisher::{Outgoing, Publisher};
use penny_platform::broker::topology::QueueSpec;
use penny_platform::broker::{Consumer, StepOutcome};
use penny_platform::metrics::{Metrics, OutboxSampler};
use penny_platform::outbox;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::messaging::{QUEUE, Rig, broker, drive, policy};

/// The value of the sample of `name` whose labels include `labels`, in Prometheus text.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let matches = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        if matches { value.parse().ok() } else { None }
    })
}

#[tokio::test]
async fn consumer_and_relay_metrics_count_consumed_retried_parked_and_published_per_queue() {
    let rig = Rig::new().await;
    let metrics = Metrics::new("widgets").unwrap();
    metrics.add_sampler(OutboxSampler::register(&metrics, rig.store.pool.clone()).unwrap());
    let mut relay = rig.relay(rig.vhost.url()).with_metrics(&metrics);
    let users = rig.enqueue(30).await;
    let poison: HashSet<UserId> = users.iter().take(2).copied().collect();
    let mut consumer = rig.consumer(rig.vhost.url(), poison).with_metrics(&metrics);

    let text = metrics.render().await;
    assert_eq!(sample(&text, "penny_outbox_pending", &[("service", "widgets")]), Some(30.0), "{text}");
    assert!(sample(&text, "penny_outbox_oldest_pending_seconds", &[]).is_some_and(|age| age >= 0.0));

    assert_eq!(relay.drain().await.unwrap(), 30);
    let connection = broker(rig.vhost.url()).connect().await.unwrap();
    let publisher = Publisher::open(&connection).await.unwrap();
    let garbage = [b"not json".to_vec(), br#"{"type":"user.deleted"}"#.to_vec(), b"[]".to_vec()];
    let messages: Vec<Outgoing<'_>> = garbage
        .iter()
        .map(|body| Outgoing {
            exchange: "penny.events",
            routing_key: "user.deleted",
            message_id: uuid::Uuid::now_v7().to_string(),
            body,
            headers: Default::default(),
        })
        .collect();
    publisher.publish(&messages).await.unwrap();
    let total = drive(&mut consumer, Duration::from_secs(30), |t| t.parked >= 5).await;
    assert_eq!((total.applied, total.retried, total.parked), (28, 4, 5));

    let text = metrics.render().await;
    let queue = [("queue", QUEUE.name), ("service", "widgets")];
    let count = |name: &str| sample(&text, name, &queue).unwrap_or_else(|| panic!("no {name} in:\n{text}"));
    // 33 messages in, and each poison message came back from both delay queues.
    assert_eq!(count("penny_messages_consumed_total"), 33.0 + 4.0);
    assert_eq!(count("penny_messages_applied_total"), 28.0);
    assert_eq!(count("penny_messages_duplicates_total"), 0.0);
    assert_eq!(count("penny_messages_retried_total"), 4.0);
    let parked = |reason: &str| {
        sample(&text, "penny_messages_parked_total", &[("queue", QUEUE.name), ("reason", reason)])
    };
    assert_eq!((parked("malformed"), parked("retries_exhausted")), (Some(3.0), Some(2.0)));
    assert!(count("penny_consumer_batch_duration_seconds_count") >= 1.0);
    let published = [("routing_key", "user.deleted"), ("service", "widgets")];
    assert_eq!(sample(&text, "penny_messages_published_total", &published), Some(30.0));
    assert_eq!(
        sample(&text, "penny_outbox_pending", &[]),
        Some(0.0),
        "the backlog is sampled at each scrape"
    );
    assert_eq!(sample(&text, "penny_outbox_oldest_pending_seconds", &[]), Some(0.0));
}

/// Spans recorded in memory, for the current thread (the test's runtime) only.
struct Traces {
    exporter: InMemorySpanExporter,
    _provider: SdkTracerProvider,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Traces {
    fn install() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("penny-test")));
        let guard = tracing::subscriber::set_default(subscriber);
        Self { exporter, _provider: provider, _guard: guard }
    }

    fn finished(&self, name: &str) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap().into_iter().filter(|span| span.name == name).collect()
    }
}

/// Runs `work` in a new span named `name` and returns that span's context.
async fn in_span<F: Future<Output = ()>>(name: &'static str, work: F) -> SpanContext {
    let span = tracing::info_span!("request", otel.name = name);
    work.instrument(span.clone()).await;
    let context = span.context().span().span_context().clone();
    assert!(context.is_valid(), "the test span is recorded");
    context
}

/// Forwards each `user.deleted` as a `user.registered`, through the outbox, in the consumer's
/// transaction: a service in the middle of a chain.
struct Forwarder;

impl Handler for Forwarder {
    type Message = Envelope<UserDeleted>;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        for delivered in batch {
            let user_id = delivered.message.payload.user_id;
            let next = UserRegistered {
                user_id,
                name: "N".into(),
                username: user_id.to_string(),
                email: "n@x.test".into(),
            };
            outbox::enqueue(conn, &Envelope::new(next, None)).await?;
        }
        Ok(())
    }
}

/// The last consumer of the chain: applies nothing.
struct Sink;

impl Handler for Sink {
    type Message = Envelope<UserRegistered>;

    async fn handle(
        &self,
        _: &mut AsyncPgConnection,
        _: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}

const FORWARDED: QueueSpec = QueueSpec { name: "test.forwarded", bindings: &["user.registered"] };

fn config(queue: QueueSpec) -> ConsumerConfig {
    ConsumerConfig {
        queue,
        batch_size: 50,
        prefetch: 150,
        policy: policy(),
        declare: vec![queue],
        liveness_check: Duration::from_millis(300),
    }
}

async fn step_until<H: Handler>(consumer: &mut Consumer<H>, done: impl Fn(&StepOutcome) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut total = StepOutcome::default();
    while !done(&total) {
        assert!(std::time::Instant::now() < deadline, "gave up waiting; so far {total:?}");
        if let Ok(step) = consumer.step(Duration::from_millis(200)).await {
            total.applied += step.applied;
        }
    }
}

#[tokio::test]
async fn one_trace_runs_from_the_enqueuing_span_through_two_hops_to_the_last_consumer() {
    let traces = Traces::install();
    let rig = Rig::new().await;
    let mut relay = rig.relay(rig.vhost.url());
    let mut middle = Consumer::new(Forwarder, rig.store.pool.clone(), broker(rig.vhost.url()), config(QUEUE));
    let mut last = Consumer::new(Sink, rig.store.pool.clone(), broker(rig.vhost.url()), config(FORWARDED));
    last.step(Duration::from_millis(10)).await.unwrap(); // declares its queue

    let request = in_span("request", async {
        let mut conn = rig.store.pool.get().await.unwrap();
        let event = Envelope::new(UserDeleted { user_id: UserId::new() }, None);
        outbox::enqueue(&mut conn, &event).await.unwrap();
    })
    .await;
    assert_eq!(relay.drain().await.unwrap(), 1);
    step_until(&mut middle, |t| t.applied >= 1).await;
    assert_eq!(relay.drain().await.unwrap(), 1, "the middle consumer's event");
    step_until(&mut last, |t| t.applied >= 1).await;

    let consumed = traces.finished("consume");
    let on = |queue: &str| {
        consumed
            .iter()
            .find(|span| {
                span.attributes.iter().any(|kv| kv.key.as_str() == "queue" && kv.value.as_str() == queue)
            })
            .unwrap_or_else(|| panic!("no consume span for {queue} in {consumed:#?}"))
    };
    let (first_hop, second_hop) = (on(QUEUE.name), on(FORWARDED.name));
    assert_eq!(first_hop.span_context.trace_id(), request.trace_id());
    assert_eq!(
        first_hop.parent_span_id,
        request.span_id(),
        "the first consumer's span is the request's child"
    );
    assert!(first_hop.parent_span_is_remote);
    assert_eq!(second_hop.span_context.trace_id(), request.trace_id());
    assert_eq!(
        second_hop.parent_span_id,
        first_hop.span_context.span_id(),
        "the last consumer continues the span that enqueued its event"
    );
}

#[tokio::test]
async fn every_message_of_a_batch_keeps_its_trace_even_when_retried_alone() {
    let traces = Traces::install();
    let rig = Rig::new().await;
    let mut relay = rig.relay(rig.vhost.url());
    let poisoned = UserId::new();
    let mut consumer = rig.consumer(rig.vhost.url(), HashSet::from([poisoned]));
    consumer.step(Duration::from_millis(10)).await.unwrap();

    let mut requests: Vec<TraceId> = Vec::new();
    for user_id in [UserId::new(), poisoned, UserId::new()] {
        let context = in_span("request", async {
            let mut conn = rig.store.pool.get().await.unwrap();
            outbox::enqueue(&mut conn, &Envelope::new(UserDeleted { user_id }, None)).await.unwrap();
        })
        .await;
        requests.push(context.trace_id());
    }
    assert_eq!(relay.drain().await.unwrap(), 3);
    drive(&mut consumer, Duration::from_secs(20), |t| t.applied >= 2 && t.parked >= 1).await;

    let consumed = traces.finished("consume");
    let in_trace =
        |trace: TraceId| consumed.iter().filter(|span| span.span_context.trace_id() == trace).count();
    for trace in &requests {
        assert!(in_trace(*trace) >= 1, "trace {trace} has no consume span: {consumed:#?}");
    }
    // The poison message was tried alone, then twice more from the delay queues: each time in
    // the trace of the request that sent it.
    assert!(in_trace(requests[1]) >= 3, "{consumed:#?}");
    // A batch span links the traces of the messages it did not continue.
    for span in consumed.iter().filter(|span| !span.links.links.is_empty()) {
        for link in &span.links.links {
            assert!(requests.contains(&link.span_context.trace_id()));
            assert_ne!(link.span_context.trace_id(), span.span_context.trace_id());
        }
    }
}

#[actix_web::test]
async fn a_request_continues_the_caller_s_trace_and_hands_it_to_the_events_it_enqueues() {
    use actix_web::{App, HttpResponse, test, web};
    use penny_platform::http::server::PennyRootSpan;
    use tracing_actix_web::TracingLogger;

    let traces = Traces::install();
    // What the gateway passes on untouched: the caller's `traceparent`.
    let (caller_trace, caller_span) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let app = test::init_service(App::new().wrap(TracingLogger::<PennyRootSpan>::new()).route(
        "/things",
        // `outbox::enqueue` writes exactly these headers beside the event.
        web::post().to(|| async { HttpResponse::Ok().json(penny_platform::telemetry::trace_headers()) }),
    ))
    .await;
    let request = test::TestRequest::post()
        .uri("/things")
        .insert_header(("traceparent", format!("00-{caller_trace}-{caller_span}-01")))
        .to_request();
    let carried: std::collections::HashMap<String, String> =
        test::call_and_read_body_json(&app, request).await;

    let traceparent = &carried["traceparent"];
    assert!(traceparent.starts_with(&format!("00-{caller_trace}-")), "{traceparent}");
    let spans = traces.exporter.get_finished_spans().unwrap();
    let request_span = spans
        .iter()
        .find(|span| span.span_context.trace_id().to_string() == caller_trace)
        .unwrap_or_else(|| panic!("no span in the caller's trace: {spans:#?}"));
    assert_eq!(request_span.parent_span_id.to_string(), caller_span);
    assert!(
        traceparent.contains(&request_span.span_context.span_id().to_string()),
        "the events' parent is the request's span"
    );
}

/// Forwards each message of a batch in that message's own span: the follow-ups keep the
/// traces of the messages that caused them, not only the first one's.
struct Fanout;

impl Handler for Fanout {
    type Message = Envelope<UserDeleted>;

    async fn handle(
        &self,
        conn: &mut AsyncPgConnection,
        batch: &[Delivered<Self::Message>],
    ) -> Result<(), HandlerError> {
        let next: Vec<(Envelope<UserRegistered>, tracing::Span)> = batch
            .iter()
            .map(|delivered| {
                let user_id = delivered.message.payload.user_id;
                let event = UserRegistered {
                    user_id,
                    name: "N".into(),
                    username: user_id.to_string(),
                    email: "n@x.test".into(),
                };
                (Envelope::new(event, None), delivered.span())
            })
            .collect();
        let each: Vec<_> = next.iter().map(|(event, span)| (event, span)).collect();
        outbox::enqueue_each_in(conn, &each).await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_batch_handler_hands_each_message_s_trace_to_its_own_follow_up() {
    use lapin::options::BasicGetOptions;
    use penny_platform::broker::{headers, topology};

    let traces = Traces::install();
    let rig = Rig::new().await;
    let mut relay = rig.relay(rig.vhost.url());
    let mut middle = Consumer::new(Fanout, rig.store.pool.clone(), broker(rig.vhost.url()), config(QUEUE));
    middle.step(Duration::from_millis(10)).await.unwrap();
    let connection = broker(rig.vhost.url()).connect().await.unwrap();
    let publisher = Publisher::open(&connection).await.unwrap();
    topology::declare(publisher.channel(), &[FORWARDED], &policy()).await.unwrap();

    let mut requests = Vec::new();
    for _ in 0..3 {
        let user_id = UserId::new();
        requests.push(
            in_span("request", async {
                let mut conn = rig.store.pool.get().await.unwrap();
                outbox::enqueue(&mut conn, &Envelope::new(UserDeleted { user_id }, None)).await.unwrap();
            })
            .await,
        );
    }
    assert_eq!(relay.drain().await.unwrap(), 3);
    step_until(&mut middle, |t| t.applied >= 3).await;
    assert_eq!(relay.drain().await.unwrap(), 3);

    let message_spans = traces.finished("message");
    let channel = connection.create_channel().await.unwrap();
    let mut followed = HashSet::new();
    for _ in 0..3 {
        let got = channel.basic_get(FORWARDED.name.into(), BasicGetOptions { no_ack: true }).await.unwrap();
        let carried = headers::strings(got.expect("a follow-up").delivery.properties.headers().as_ref());
        // traceparent: 00-<trace id>-<parent span id>-<flags>
        let parts: Vec<&str> = carried["traceparent"].split('-').collect();
        let request = requests
            .iter()
            .find(|request| request.trace_id().to_string() == parts[1])
            .unwrap_or_else(|| panic!("a follow-up in no request's trace: {carried:?}"));
        let hop = message_spans
            .iter()
            .find(|span| span.span_context.span_id().to_string() == parts[2])
            .expect("the follow-up's parent is its message's span");
        assert_eq!(hop.parent_span_id, request.span_id(), "that span continues the request");
        followed.insert(request.trace_id());
    }
    assert_eq!(followed.len(), 3, "each follow-up in the trace of its own request");
}
