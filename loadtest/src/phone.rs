//! A phone's own keep-alive connection for its scans.
//!
//! The load generator shares the two cores with the server it measures, so every
//! microsecond it spends on a scan is one the server does not get. Through reqwest's pool a
//! scan cost the generator about 48 µs of CPU (BENCHMARKS.md): parsing the URL again,
//! checking a connection out of the pool and back, and the client's layers. Each scanning
//! worker is one phone that sends one scan at a time, so it keeps one HTTP/1.1 connection
//! of its own and writes its request straight to it, as a phone's `wx.request` reuses its
//! socket. What the server sees is the same request: the same path, headers and JSON.
//!
//! Only for `http://` bases; an `https://` base goes through the shared client instead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue, USER_AGENT};
use reqwest::{StatusCode, Url};

use crate::api::{Api, Location, ScanBody, ScanReceipt, Timed, TransportError, decode};

/// Where a phone sends its scans.
#[derive(Debug)]
struct Target {
    /// `host:port` to connect to.
    address: String,
    host: HeaderValue,
    /// The scan route under the base's path.
    path: hyper::Uri,
    timeout: Duration,
}

impl Target {
    /// The scan route of `base`, or `None` if it is not plain HTTP.
    fn of(base: &str, timeout: Duration) -> Option<Arc<Self>> {
        let url = Url::parse(base).ok()?;
        if url.scheme() != "http" {
            return None;
        }
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let address = format!("{host}:{port}");
        let path = format!("{}/mp/v1/scans", url.path().trim_end_matches('/')).parse().ok()?;
        let host = HeaderValue::from_str(&match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        })
        .ok()?;
        Some(Arc::new(Self { address, host, path, timeout }))
    }
}

/// One phone: its own connection when the base is plain HTTP, the shared client otherwise.
pub struct Phone {
    api: Api,
    target: Option<Arc<Target>>,
    /// Made on the first scan, and again after any failure.
    connection: Option<SendRequest<Full<Bytes>>>,
}

impl Phone {
    /// A phone that scans through `api`'s server.
    pub fn of(api: &Api) -> Self {
        Self { api: api.clone(), target: Target::of(api.base(), api.timeout()), connection: None }
    }

    /// Sends one scan and reads the whole answer.
    pub async fn scan(
        &mut self,
        token: &str,
        code: &str,
        device_id: &str,
        location: Option<Location>,
    ) -> Result<Timed<ScanReceipt>, TransportError> {
        let Some(target) = self.target.clone() else {
            return self.api.scan(token, code, device_id, location).await;
        };
        let body = serde_json::to_vec(&ScanBody::new(code, device_id, location)).map_err(|_| TransportError::Other)?;
        let started = Instant::now();
        let answer = tokio::time::timeout(target.timeout, self.exchange(&target, token, body)).await;
        // The connection's state is unknown after a failure: the next scan makes another.
        let (status, body) = match answer {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                self.connection = None;
                return Err(e);
            }
            Err(_) => {
                self.connection = None;
                return Err(TransportError::Timeout);
            }
        };
        Ok(Timed { reply: decode(status, &body, StatusCode::OK), latency: started.elapsed() })
    }

    async fn exchange(
        &mut self,
        target: &Target,
        token: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes), TransportError> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(connect(target).await?),
        };
        connection.ready().await.map_err(|_| TransportError::Other)?;
        let request = hyper::Request::post(target.path.clone())
            .header(HOST, target.host.clone())
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(concat!("hourmark-loadtest/", env!("CARGO_PKG_VERSION"))))
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| TransportError::Other)?;
        let response = connection.send_request(request).await.map_err(|_| TransportError::Other)?;
        let status = StatusCode::from_u16(response.status().as_u16()).map_err(|_| TransportError::Other)?;
        let body = response.into_body().collect().await.map_err(|_| TransportError::Other)?.to_bytes();
        Ok((status, body))
    }
}

/// Opens a connection to the server and drives it on its own task.
async fn connect(target: &Target) -> Result<SendRequest<Full<Bytes>>, TransportError> {
    let stream = tokio::net::TcpStream::connect(&target.address).await.map_err(|_| TransportError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|_| TransportError::Connect)?;
    tokio::spawn(async move {
        // Ends when the phone drops its sender or the server closes the connection.
        let _ = connection.await;
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_route_is_found_under_the_base() {
        let t = Target::of("http://127.0.0.1:8080", Duration::from_secs(1)).expect("http");
        assert_eq!((t.address.as_str(), t.path.to_string().as_str()), ("127.0.0.1:8080", "/mp/v1/scans"));
        assert_eq!(t.host, "127.0.0.1:8080");
        let t = Target::of("http://localhost/prefix", Duration::from_secs(1)).expect("http");
        assert_eq!((t.address.as_str(), t.path.to_string().as_str()), ("localhost:80", "/prefix/mp/v1/scans"));
        assert_eq!(t.host, "localhost");
        assert!(Target::of("https://127.0.0.1:8443", Duration::from_secs(1)).is_none(), "TLS goes through the client");
    }
}
