//! Sets up a freshly started `hourmark` (empty database, started with the tests' bootstrap
//! token and staff origin) for `scripts/api-fuzz`: an administrator enrolled with a
//! software passkey, an organisation, an activity under way, and a registered volunteer.
//! Prints `ADMIN_TOKEN=…` and `VOLUNTEER_TOKEN=…` lines for the script to read.
//!
//! A Rust program rather than curl because enrolling the administrator is a real passkey
//! ceremony, which only the tests' software authenticator can perform. The organisation
//! and activity give the fuzzer ids that exist (1), so it reaches past the 404s.
//!
//! Usage: `cargo run -p hourmark-tests --example api_fuzz_setup -- BASE BOOTSTRAP_TOKEN`

use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(base), Some(bootstrap)) = (args.next(), args.next()) else {
        return Err("usage: api_fuzz_setup BASE BOOTSTRAP_TOKEN".into());
    };
    let client = hourmark_tests::http_client();
    let post = async |path: &str, bearer: Option<&str>, body: Value| -> Result<Value, Box<dyn std::error::Error>> {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            return Err(format!("POST {path}: {status}: {text}").into());
        }
        Ok(serde_json::from_str(&text)?)
    };

    let admin =
        post("/api/v1/bootstrap", None, json!({"token": bootstrap, "name": "管理员", "login": "admin"})).await?;
    let start = post("/api/v1/invites/passkey/start", None, json!({"invite": admin["invite"]["token"]})).await?;
    let credential = hourmark_tests::register(&mut hourmark_tests::authenticator(), &start);
    let admin = post(
        "/api/v1/invites/passkey/finish",
        None,
        json!({"ceremony_id": start["ceremony_id"], "credential": credential}),
    )
    .await?;
    let admin = admin["access_token"].as_str().ok_or("no administrator token")?.to_owned();

    let org = post("/api/v1/organisations", Some(&admin), json!({"name": "模糊测试", "region_code": "530102"})).await?;
    let now = chrono::Utc::now();
    post(
        "/api/v1/activities",
        Some(&admin),
        json!({
            "organisation_id": org["id"], "name": "模糊测试活动", "category": "environment", "recipients": "市民",
            "content": "捡拾垃圾", "address": "昆明", "location": {"lat": 25.0, "lng": 102.7}, "radius_m": 1000,
            "starts_at": (now - chrono::Duration::minutes(10)).to_rfc3339(),
            "ends_at": (now + chrono::Duration::hours(2)).to_rfc3339(),
        }),
    )
    .await?;

    let body = hourmark_tests::registration("志愿者", "13900000001", &hourmark_tests::next_resident_id());
    let volunteer = post("/mp/v1/volunteers", None, body).await?;
    let volunteer = volunteer["access_token"].as_str().ok_or("no volunteer token")?;

    println!("ADMIN_TOKEN={admin}");
    println!("VOLUNTEER_TOKEN={volunteer}");
    Ok(())
}
