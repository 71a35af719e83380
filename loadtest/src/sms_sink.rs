//! Where the server's registration codes arrive during a load test, so that the load test
//! can register volunteers the way production does: every registration waits for a
//! one-time code to the phone given (`HOURMARK_PRODUCTION`, or
//! `HOURMARK_REGISTRATION_PHONE_CODE`), and the code comes back with the same registration.
//!
//! The server is pointed here as its Tencent Cloud SMS endpoint
//! (`HOURMARK_SMS_PROVIDER=tencent`, `HOURMARK_SMS_TENCENT_ENDPOINT=http://<--sms-sink>`),
//! so its real SMS client signs and sends every code; the sink answers in Tencent's
//! success format and hands the code (the first template parameter) to the registration
//! waiting for that number. It checks no signature: the server's own tests check the
//! client against a strict stand-in, and here the sink only has to be cheap.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Codes awaited, by the number as the server sends it (`+86…`).
#[derive(Debug, Default)]
struct Waiting {
    by_number: Mutex<HashMap<String, oneshot::Sender<String>>>,
    /// Messages that arrived for a number nobody waited for.
    unexpected: std::sync::atomic::AtomicU64,
}

/// A running sink; registrations ask it for their code.
#[derive(Debug, Clone)]
pub struct SmsSink {
    waiting: Arc<Waiting>,
}

impl SmsSink {
    /// Listens on `addr` until the process ends.
    pub async fn start(addr: SocketAddr) -> Result<Self> {
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen for SMS on {addr}"))?;
        let waiting = Arc::new(Waiting::default());
        let app = Router::new().route("/", post(send_sms)).with_state(Arc::clone(&waiting));
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("the SMS sink stopped: {e}");
            }
        });
        Ok(Self { waiting })
    }

    /// Expects a code for mainland `phone`; call before the request that sends it.
    pub fn expect(&self, phone: &str) -> Code {
        let (tx, rx) = oneshot::channel();
        let number = format!("+86{phone}");
        self.waiting.by_number.lock().unwrap_or_else(PoisonError::into_inner).insert(number.clone(), tx);
        Code { rx, number, waiting: Arc::clone(&self.waiting) }
    }

    /// Messages for numbers no registration waited for (a server sending what it should
    /// not, or twice).
    pub fn unexpected(&self) -> u64 {
        self.waiting.unexpected.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A code on its way to one number.
#[derive(Debug)]
pub struct Code {
    rx: oneshot::Receiver<String>,
    number: String,
    waiting: Arc<Waiting>,
}

impl Code {
    /// The code, if it arrives within `within`.
    pub async fn wait(mut self, within: Duration) -> Option<String> {
        tokio::time::timeout(within, &mut self.rx).await.ok()?.ok()
    }
}

impl Drop for Code {
    fn drop(&mut self) {
        // A registration that gave up (or did not need a code) stops waiting.
        self.waiting.by_number.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.number);
    }
}

/// Tencent's `SendSms`, as far as the server's client reads the answer.
async fn send_sms(State(waiting): State<Arc<Waiting>>, body: Bytes) -> axum::Json<Value> {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let first = |key: &str| request[key].get(0).and_then(Value::as_str).map(str::to_owned);
    let (Some(number), Some(code)) = (first("PhoneNumberSet"), first("TemplateParamSet")) else {
        return axum::Json(json!({"Response": {"Error": {"Code": "MissingParameter",
            "Message": "PhoneNumberSet and TemplateParamSet are required"}, "RequestId": "loadtest"}}));
    };
    let waiter = waiting.by_number.lock().unwrap_or_else(PoisonError::into_inner).remove(&number);
    match waiter {
        Some(tx) => drop(tx.send(code)),
        None => drop(waiting.unexpected.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
    }
    axum::Json(json!({"Response": {"SendStatusSet": [{"SerialNo": "loadtest", "PhoneNumber": number, "Fee": 1,
        "SessionContext": "", "Code": "Ok", "Message": "send success", "IsoCode": "CN"}], "RequestId": "loadtest"}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_code_reaches_the_registration_waiting_for_its_number() {
        let sink = SmsSink::start("127.0.0.1:0".parse().expect("addr")).await.expect("sink");
        let body = json!({"PhoneNumberSet": ["+8613800001234"], "TemplateParamSet": ["123456", "5"]});
        let waiting = sink.expect("13800001234");
        let answer = send_sms(State(Arc::clone(&sink.waiting)), Bytes::from(body.to_string())).await;
        assert_eq!(answer.0["Response"]["SendStatusSet"][0]["Code"], "Ok");
        assert_eq!(waiting.wait(Duration::from_secs(1)).await.as_deref(), Some("123456"));
        // Nobody waits for this one: counted, still answered as sent.
        let again = send_sms(State(Arc::clone(&sink.waiting)), Bytes::from(body.to_string())).await;
        assert_eq!(again.0["Response"]["SendStatusSet"][0]["Code"], "Ok");
        assert_eq!(sink.unexpected(), 1);
        let missing = send_sms(State(Arc::clone(&sink.waiting)), Bytes::from_static(b"{}")).await;
        assert_eq!(missing.0["Response"]["Error"]["Code"], "MissingParameter");
    }

    #[tokio::test]
    async fn a_registration_that_gives_up_stops_waiting() {
        let sink = SmsSink::start("127.0.0.1:0".parse().expect("addr")).await.expect("sink");
        let waiting = sink.expect("13800001235");
        assert_eq!(waiting.wait(Duration::from_millis(10)).await, None);
        assert!(sink.waiting.by_number.lock().expect("lock").is_empty());
    }
}
