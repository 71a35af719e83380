//! A phone's own keep-alive connection for its scans, spoken to in plain HTTP/1.1.
//!
//! The load generator shares the two cores with the server it measures, so every
//! microsecond it spends on a scan is one the server does not get. Through reqwest's pool a
//! scan cost the generator about 48 µs of CPU (BENCHMARKS.md); through a hyper connection
//! of its own, 25–36 µs, much of it handing each request to the connection's own task and
//! the answer back (two tasks woken a scan), and building a header map for four headers.
//! Each scanning worker is one phone that sends one scan at a time, so it writes its
//! request to its socket itself, as one buffer whose fixed part (request line, host,
//! content type, user agent) was written once, and reads the answer with `httparse`, as a
//! phone's `wx.request` reuses its socket. What the server sees is the same request: the
//! same path, headers and JSON.
//!
//! A reused connection the server has closed in the meantime fails before any answer
//! comes back; the scan is then sent once more on a new connection. That is safe because a
//! scan carries its nonce: the server answers a repeated nonce with the first answer.
//!
//! Only for `http://` bases; an `https://` base goes through the shared client instead.

use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::api::{Api, Location, ScanBody, ScanReceipt, Timed, TransportError, decode};

/// The most headers an answer may carry (Hourmark sends about ten).
const MAX_HEADERS: usize = 48;
/// The longest answer a phone reads; a scan's answer is a few hundred bytes.
const MAX_ANSWER: usize = 1 << 20;

/// Where a phone sends its scans.
#[derive(Debug)]
struct Target {
    /// `host:port` to connect to.
    address: String,
    /// The request up to the bearer token: request line, host, content type, user agent,
    /// and `authorization: Bearer `.
    head: Box<[u8]>,
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
        let path = format!("{}/mp/v1/scans", url.path().trim_end_matches('/'));
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {host_header}\r\ncontent-type: application/json\r\nuser-agent: \
             hourmark-loadtest/{}\r\nauthorization: Bearer ",
            env!("CARGO_PKG_VERSION")
        );
        Some(Arc::new(Self { address, head: head.into_bytes().into(), timeout }))
    }
}

/// One phone: its own connection when the base is plain HTTP, the shared client otherwise.
pub struct Phone {
    api: Api,
    target: Option<Arc<Target>>,
    /// Made on the first scan, and again after any failure or a `connection: close`.
    link: Option<Link>,
    /// The request being sent and its JSON body, kept to reuse their memory.
    request: Vec<u8>,
    body: Vec<u8>,
}

impl Phone {
    /// A phone that scans through `api`'s server.
    pub fn of(api: &Api) -> Self {
        Self {
            api: api.clone(),
            target: Target::of(api.base(), api.timeout()),
            link: None,
            request: Vec::with_capacity(1024),
            body: Vec::with_capacity(512),
        }
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
        self.body.clear();
        serde_json::to_writer(&mut self.body, &ScanBody::new(code, device_id, location))
            .map_err(|_| TransportError::Other)?;
        self.request.clear();
        self.request.extend_from_slice(&target.head);
        self.request.extend_from_slice(token.as_bytes());
        write!(self.request, "\r\ncontent-length: {}\r\n\r\n", self.body.len()).map_err(|_| TransportError::Other)?;
        self.request.extend_from_slice(&self.body);

        let started = Instant::now();
        let answer = tokio::time::timeout(target.timeout, self.exchange(&target)).await;
        let answer = match answer {
            Ok(Ok(answer)) => answer,
            // The connection's state is unknown after a failure: the next scan makes another.
            Ok(Err(e)) => {
                self.link = None;
                return Err(e);
            }
            Err(_) => {
                self.link = None;
                return Err(TransportError::Timeout);
            }
        };
        let reply = decode(answer.status, answer.body(self.link_input()), StatusCode::OK);
        if answer.close {
            self.link = None;
        }
        Ok(Timed { reply, latency: started.elapsed() })
    }

    /// The bytes the last answer was read into.
    fn link_input(&self) -> &[u8] {
        self.link.as_ref().map_or(&[], |link| &link.input)
    }

    /// Sends the request on the phone's connection, and once more on a new one if a reused
    /// connection turns out to have been closed before it answered.
    async fn exchange(&mut self, target: &Target) -> Result<Answer, TransportError> {
        if let Some(link) = &mut self.link {
            match link.round_trip(&self.request).await {
                Ok(answer) => return Ok(answer),
                Err(LinkError::NothingBack) => self.link = None,
                Err(LinkError::Broken) => return Err(TransportError::Other),
            }
        }
        let link = self.link.insert(Link::connect(&target.address).await?);
        link.round_trip(&self.request).await.map_err(|_| TransportError::Other)
    }
}

/// An answer read into a link's input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: StatusCode,
    /// Where the body lies in the input buffer (after the chunks were joined, if chunked).
    body: std::ops::Range<usize>,
    /// The server closes the connection after this answer.
    close: bool,
}

impl Answer {
    fn body<'a>(&self, input: &'a [u8]) -> &'a [u8] {
        input.get(self.body.clone()).unwrap_or_default()
    }
}

/// Why a round trip failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkError {
    /// The request could not be written, or the connection ended before a byte of the
    /// answer came: on a reused connection, most likely closed by the server while idle.
    NothingBack,
    /// A partial or malformed answer, or one larger than a phone reads.
    Broken,
}

/// One keep-alive connection and the bytes read from it.
struct Link {
    stream: TcpStream,
    input: Vec<u8>,
}

impl Link {
    async fn connect(address: &str) -> Result<Self, TransportError> {
        let stream = TcpStream::connect(address).await.map_err(|_| TransportError::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok(Self { stream, input: Vec::with_capacity(4096) })
    }

    /// Writes `request` and reads one whole answer into `self.input`.
    async fn round_trip(&mut self, request: &[u8]) -> Result<Answer, LinkError> {
        self.stream.write_all(request).await.map_err(|_| LinkError::NothingBack)?;
        self.input.clear();
        loop {
            match parse(&mut self.input)? {
                Some(answer) => return Ok(answer),
                None => self.read_more().await?,
            }
        }
    }

    async fn read_more(&mut self) -> Result<(), LinkError> {
        if self.input.len() >= MAX_ANSWER {
            return Err(LinkError::Broken);
        }
        self.input.reserve(4096);
        match self.stream.read_buf(&mut self.input).await {
            Ok(0) | Err(_) if self.input.is_empty() => Err(LinkError::NothingBack),
            Ok(0) | Err(_) => Err(LinkError::Broken),
            Ok(_) => Ok(()),
        }
    }
}

/// The answer at the start of `input` if all of it is there, `None` if more must be read.
/// A chunked body is joined in place, so the body is always one range of `input`.
fn parse(input: &mut [u8]) -> Result<Option<Answer>, LinkError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(input) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(LinkError::Broken),
    };
    let status = response.code.and_then(|code| StatusCode::from_u16(code).ok()).ok_or(LinkError::Broken)?;
    let (mut length, mut chunked, mut close) = (None, false, false);
    for header in response.headers.iter() {
        let value = header.value;
        if header.name.eq_ignore_ascii_case("content-length") {
            let text = std::str::from_utf8(value).map_err(|_| LinkError::Broken)?;
            length = Some(text.trim().parse::<usize>().map_err(|_| LinkError::Broken)?);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case(b"chunked");
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case(b"close");
        }
    }
    let body = if chunked {
        match join_chunks(&mut input[head_len..])? {
            Some(len) => head_len..head_len + len,
            None => return Ok(None),
        }
    } else {
        // An answer without a length or chunks would end only when the connection does;
        // Hourmark always sends one or the other, so that counts as broken.
        let length = length.ok_or(LinkError::Broken)?;
        if input.len() < head_len + length {
            return Ok(None);
        }
        head_len..head_len + length
    };
    Ok(Some(Answer { status, body, close }))
}

/// Joins a chunked body at the start of `body` into its first bytes and returns its
/// length, or `None` if the last chunk has not arrived yet (nothing is moved then).
fn join_chunks(body: &mut [u8]) -> Result<Option<usize>, LinkError> {
    // A first pass finds the chunks without moving anything, so that a partial body can be
    // parsed again from the start when more has been read.
    let mut chunks = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = find_crlf(&body[at..]) else { return Ok(None) };
        let line = &body[at..at + line_end];
        let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
        let size = std::str::from_utf8(size_text)
            .ok()
            .and_then(|text| usize::from_str_radix(text.trim(), 16).ok())
            .ok_or(LinkError::Broken)?;
        let data = at + line_end + 2;
        if size == 0 {
            // No trailers are sent to a phone: the last chunk is followed by an empty line.
            if body.len() < data + 2 {
                return Ok(None);
            }
            if &body[data..data + 2] != b"\r\n" {
                return Err(LinkError::Broken);
            }
            break;
        }
        if body.len() < data + size + 2 {
            return Ok(None);
        }
        if &body[data + size..data + size + 2] != b"\r\n" {
            return Err(LinkError::Broken);
        }
        chunks.push(data..data + size);
        at = data + size + 2;
    }
    let mut len = 0;
    for chunk in chunks {
        let size = chunk.len();
        body.copy_within(chunk, len);
        len += size;
    }
    Ok(Some(len))
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|pair| pair == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_route_is_found_under_the_base() {
        let t = Target::of("http://127.0.0.1:8080", Duration::from_secs(1)).expect("http");
        assert_eq!(t.address, "127.0.0.1:8080");
        assert!(t.head.starts_with(b"POST /mp/v1/scans HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n"));
        assert!(t.head.ends_with(b"\r\nauthorization: Bearer "));
        let t = Target::of("http://localhost/prefix", Duration::from_secs(1)).expect("http");
        assert_eq!(t.address, "localhost:80");
        assert!(t.head.starts_with(b"POST /prefix/mp/v1/scans HTTP/1.1\r\nhost: localhost\r\n"));
        assert!(Target::of("https://127.0.0.1:8443", Duration::from_secs(1)).is_none(), "TLS goes through the client");
    }

    fn parsed(text: &[u8]) -> Result<Option<(Answer, Vec<u8>)>, LinkError> {
        let mut input = text.to_vec();
        Ok(parse(&mut input)?.map(|answer| {
            let body = answer.body(&input).to_vec();
            (answer, body)
        }))
    }

    #[test]
    fn an_answer_is_read_by_its_length_or_its_chunks() {
        let whole = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}";
        let (answer, body) = parsed(whole).expect("valid").expect("complete");
        assert_eq!((answer.status, answer.close, body.as_slice()), (StatusCode::OK, false, &b"{\"a\":1}"[..]));
        for cut in 0..whole.len() {
            assert_eq!(parsed(&whole[..cut]), Ok(None), "incomplete at {cut} bytes");
        }

        let chunked = b"HTTP/1.1 409 Conflict\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
        let (answer, body) = parsed(chunked).expect("valid").expect("complete");
        assert_eq!((answer.status, answer.close, body.as_slice()), (StatusCode::CONFLICT, true, &b"{\"a\":1}"[..]));
        for cut in 0..chunked.len() {
            assert_eq!(parsed(&chunked[..cut]), Ok(None), "incomplete at {cut} bytes");
        }
    }

    #[test]
    fn a_malformed_answer_is_broken_not_waited_for() {
        for text in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: seven\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcd\r\n",
            b"SMTP ready\r\n\r\n",
        ] {
            assert_eq!(parsed(text), Err(LinkError::Broken), "{}", String::from_utf8_lossy(text));
        }
    }

    /// A server that answers each request on a connection with the next canned answer, and
    /// closes the connection after `per_connection` of them.
    async fn canned_server(
        answers: Vec<Vec<u8>>,
        per_connection: usize,
    ) -> (String, Arc<std::sync::Mutex<Vec<Vec<u8>>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let requests = Arc::clone(&seen);
        tokio::spawn(async move {
            let mut answers = answers.into_iter();
            while let Ok((mut stream, _)) = listener.accept().await {
                for _ in 0..per_connection {
                    let mut request = Vec::new();
                    loop {
                        let mut headers = [httparse::EMPTY_HEADER; 16];
                        let mut parsed = httparse::Request::new(&mut headers);
                        if let Ok(httparse::Status::Complete(head)) = parsed.parse(&request) {
                            let length: usize = parsed
                                .headers
                                .iter()
                                .find(|h| h.name == "content-length")
                                .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
                                .expect("a length");
                            if request.len() >= head + length {
                                break;
                            }
                        }
                        if stream.read_buf(&mut request).await.unwrap_or(0) == 0 {
                            return;
                        }
                    }
                    requests.lock().expect("lock").push(request);
                    let Some(answer) = answers.next() else { return };
                    stream.write_all(&answer).await.expect("write");
                }
            }
        });
        (base, seen)
    }

    const ACCEPTED: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 25\r\n\r\n{\"outcome\":\"checked_in\"}\n";

    #[tokio::test]
    async fn a_closed_connection_is_replaced_and_the_scan_sent_again_with_its_nonce() {
        let (base, seen) = canned_server(vec![ACCEPTED.to_vec(); 3], 1).await;
        let api = Api::new(base, 1, Duration::from_secs(5)).expect("client");
        let mut phone = Phone::of(&api);
        for _ in 0..3 {
            let timed = phone.scan("hm_token", "https://example/c", "device-1", None).await.expect("answered");
            assert!(matches!(timed.reply, crate::api::Reply::Ok(ScanReceipt { .. })), "{:?}", timed.reply);
        }
        let seen = seen.lock().expect("lock");
        // The server closes after every answer: the second and third scans each found the
        // old connection closed and went again on a new one, so the server saw three.
        assert_eq!(seen.len(), 3);
        let first = String::from_utf8_lossy(&seen[0]);
        assert!(first.starts_with("POST /mp/v1/scans HTTP/1.1\r\n"), "{first}");
        assert!(first.contains("\r\nauthorization: Bearer hm_token\r\n"), "{first}");
        assert!(first.contains("\"code\":\"https://example/c\""), "{first}");
    }

    #[tokio::test]
    async fn a_problem_is_decoded_from_a_chunked_answer() {
        let mut answer = b"HTTP/1.1 409 Conflict\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        for chunk in [&br#"{"code":"wrong_gate","#[..], br#""detail":"x"}"#] {
            answer.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            answer.extend_from_slice(chunk);
            answer.extend_from_slice(b"\r\n");
        }
        answer.extend_from_slice(b"0\r\n\r\n");
        let (base, _) = canned_server(vec![answer], 1).await;
        let api = Api::new(base, 1, Duration::from_secs(5)).expect("client");
        let timed = Phone::of(&api).scan("hm_token", "c", "d", None).await.expect("answered");
        match timed.reply {
            crate::api::Reply::Problem { status, code, .. } => {
                assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "wrong_gate"));
            }
            other => panic!("{other:?}"),
        }
    }
}
