//! The client's address: `X-Real-IP` when the request comes from a trusted gateway (which
//! overwrites that header with the peer address), otherwise the peer address itself. A client
//! talking to a service directly can therefore not choose its own address for rate limits.

use std::net::IpAddr;

use crate::settings::ProxyNet;

use actix_web::HttpRequest;

/// The trusted gateway addresses, stored as app data.
#[derive(Debug, Clone)]
pub struct TrustedProxies(pub Vec<ProxyNet>);

/// Where the request really came from.
pub fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    let trusted = req.app_data::<actix_web::web::Data<TrustedProxies>>();
    match (peer, trusted) {
        (Some(peer), Some(trusted)) if trusted.0.iter().any(|net| net.contains(&peer)) => req
            .headers()
            .get("x-real-ip")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .or(Some(peer)),
        (peer, _) => peer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use actix_web::web::Data;

    fn request(peer: &str, real_ip: Option<&str>) -> HttpRequest {
        let mut req = TestRequest::default()
            .peer_addr(format!("{peer}:5000").parse().unwrap())
            .app_data(Data::new(TrustedProxies(vec!["127.0.0.1".parse().unwrap()])));
        if let Some(ip) = real_ip {
            req = req.insert_header(("X-Real-IP", ip));
        }
        req.to_http_request()
    }

    #[test]
    fn the_gateway_s_header_is_trusted() {
        assert_eq!(
            client_ip(&request("127.0.0.1", Some("203.0.113.9"))),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(client_ip(&request("127.0.0.1", None)), Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn anyone_else_s_header_is_ignored() {
        assert_eq!(
            client_ip(&request("198.51.100.7", Some("203.0.113.9"))),
            Some("198.51.100.7".parse().unwrap())
        );
    }
}
