//! RabbitMQ for tests: a vhost of its own per test (through the management API), deleted
//! afterwards, and a loopback TCP proxy a test can cut and restore to make an outage without
//! disturbing anyone else's connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

fn management_url() -> String {
    std::env::var("PENNY_TEST_RABBITMQ_API").unwrap_or_else(|_| "http://127.0.0.1:15672/api".into())
}

fn amqp_host() -> String {
    std::env::var("PENNY_TEST_AMQP_HOST").unwrap_or_else(|_| "127.0.0.1:5672".into())
}

/// A vhost named `penny-test-<uuid>` with full permissions for `guest`.
#[derive(Debug)]
pub struct TestVhost {
    name: String,
}

impl TestVhost {
    /// Creates the vhost.
    pub async fn new() -> Self {
        let name = format!("penny-test-{}", uuid::Uuid::now_v7().simple());
        let client = reqwest::Client::new();
        let api = management_url();
        client
            .put(format!("{api}/vhosts/{name}"))
            .basic_auth("guest", Some("guest"))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("failed to create a test vhost (is the management plugin on?)");
        client
            .put(format!("{api}/permissions/{name}/guest"))
            .basic_auth("guest", Some("guest"))
            .json(&serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"}))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("failed to grant permissions on the test vhost");
        Self { name }
    }

    /// Publishes `envelope` to `penny.events` on this vhost with confirms, waiting (up to 20 s)
    /// until a queue takes it: consumers declare their queues as they start.
    pub async fn publish<E: penny_contract::events::Event>(&self, envelope: &penny_contract::Envelope<E>) {
        use penny_platform::broker::publisher::{Outgoing, Publisher};
        let broker =
            penny_platform::broker::BrokerConfig::new(secrecy::SecretString::from(self.url()), "test");
        let connection = broker.connect().await.expect("failed to connect to the test vhost");
        let publisher = Publisher::open(&connection).await.expect("failed to open a publisher");
        penny_platform::broker::topology::declare_exchanges(publisher.channel())
            .await
            .expect("failed to declare the exchanges");
        let body = serde_json::to_vec(envelope).expect("an envelope serialises");
        let message = Outgoing {
            exchange: "penny.events",
            routing_key: envelope.routing_key(),
            message_id: envelope.message_id.to_string(),
            body: &body,
            headers: Default::default(),
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !publisher.publish(std::slice::from_ref(&message)).await.expect("publish").routed[0] {
            assert!(std::time::Instant::now() < deadline, "no queue took {}", envelope.routing_key());
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The vhost's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An AMQP URL for this vhost, through `host` (`127.0.0.1:5672` or a proxy).
    pub fn url_via(&self, host: &str) -> String {
        format!("amqp://guest:guest@{host}/{}", self.name)
    }

    /// An AMQP URL for this vhost.
    pub fn url(&self) -> String {
        self.url_via(&amqp_host())
    }

    /// Whether the queue exists, from the management API.
    pub async fn queue_exists(&self, queue: &str) -> bool {
        let response = reqwest::Client::new()
            .get(format!("{}/queues/{}/{queue}", management_url(), self.name))
            .basic_auth("guest", Some("guest"))
            .send()
            .await
            .expect("management API");
        response.status().is_success()
    }

    /// Number of messages in a queue (ready + unacked), from the management API.
    pub async fn queue_depth(&self, queue: &str) -> u64 {
        let response = reqwest::Client::new()
            .get(format!("{}/queues/{}/{queue}", management_url(), self.name))
            .basic_auth("guest", Some("guest"))
            .send()
            .await
            .expect("management API");
        let body: serde_json::Value = response.json().await.expect("queue JSON");
        body["messages"].as_u64().unwrap_or(0)
    }
}

impl Drop for TestVhost {
    fn drop(&mut self) {
        let url = format!("{}/vhosts/{}", management_url(), self.name);
        // Drop may run inside a runtime; a thread of its own with a small runtime works anywhere.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async {
                let _ = reqwest::Client::new().delete(url).basic_auth("guest", Some("guest")).send().await;
            });
        })
        .join();
    }
}

/// A loopback TCP proxy in front of `target`. `cut()` drops every open connection and refuses
/// new ones until `restore()`.
#[derive(Debug, Clone)]
pub struct TcpProxy {
    address: SocketAddr,
    up: Arc<AtomicBool>,
    generation: watch::Sender<u64>,
}

impl TcpProxy {
    /// Starts a proxy on a free port.
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = watch::channel(0u64);
        let proxy = Self { address, up: Arc::clone(&up), generation: generation.clone() };
        let target = target.to_owned();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if !up.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut = generation.subscribe();
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        proxy
    }

    /// `host:port` to connect to instead of the target.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Breaks every connection through the proxy and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
