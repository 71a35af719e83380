//! Settings that are text but may be all digits: Tencent's SdkAppId (`1400…`) and
//! template ids, a key id such as `2026`. The environment provider reads
//! `HOURMARK_SMS_TENCENT_SDK_APP_ID=1400006666` as a number, and a plain `String` field
//! then refused it, so the server would not start with the values Tencent's console
//! gives. These fields take a number as its digits. (A value whose leading zeros matter
//! must be quoted: `HOURMARK_X='"0123"'`.)

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    Plain(String),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        match t {
            Text::Plain(s) => s,
            Text::Unsigned(n) => n.to_string(),
            Text::Signed(n) => n.to_string(),
            Text::Float(n) => n.to_string(),
            Text::Bool(b) => b.to_string(),
        }
    }
}

pub fn exact<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Text::deserialize(d).map(String::from)
}

pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Text>::deserialize(d).map(|t| t.map(String::from))
}
