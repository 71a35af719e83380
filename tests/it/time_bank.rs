//! The time bank: confirmed register minutes are saved, spent on services received, given
//! away and corrected, each transaction once; the books always balance.

use chrono::Duration;
use hourmark_tests::on_both_backends;
use serde_json::json;

/// Three hours served, finalised, through publicity, reported and confirmed by the county:
/// the administrator, organisation, organiser, recorder, county officer, and the
/// volunteer's id and token. The organisation has the time bank on.
pub(crate) struct Served {
    pub admin: String,
    pub admin_key: hourmark_tests::SoftPasskey,
    pub org: i64,
    pub organiser: String,
    pub activity: i64,
    pub officer: String,
    pub volunteer_id: i64,
    pub volunteer: String,
}

pub(crate) async fn serve_and_confirm(app: &hourmark_tests::TestApp) -> Served {
    let (admin, mut admin_key) = app.administrator_with_passkey().await;
    let org = app.organisation(&admin, "翠湖志愿者协会").await; // Wuhua district, 530102
    let organiser = app.organiser(&admin, org).await;
    let activity = app.activity(&organiser, org, json!({})).await["id"].as_i64().expect("id");
    let recorder = crate::review::recorder(app, &admin, org).await;
    let (volunteer_id, volunteer) = app.volunteer("张三", "13800001234").await;
    for _ in 0..2 {
        let url = app.code(&organiser, activity, 0, "toggle").await["url"].as_str().expect("url").to_owned();
        app.scan(&volunteer, &url).await.expect_status(200);
        app.advance(Duration::hours(3));
    }
    app.advance(Duration::hours(5));
    app.post(&format!("/api/v1/activities/{activity}/finalise"), Some(&recorder), json!({})).await.expect_status(201);
    app.advance(Duration::days(4) + Duration::hours(4));
    assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
    let admin = signed_in_admin(app, &mut admin_key).await;
    let organiser = app.organiser(&admin, org).await;
    let setting = format!("/api/v1/organisations/{org}/time-bank");
    let recorder = crate::review::recorder(app, &admin, org).await;
    app.call(reqwest::Method::PUT, &setting, Some(&recorder), Some(json!({"enabled": true})))
        .await
        .expect_problem(403, "forbidden");
    app.call(reqwest::Method::PUT, &setting, Some(&organiser), Some(json!({"enabled": true, "expiry_months": 0})))
        .await
        .expect_problem(422, "invalid_body");
    let on = app.call(reqwest::Method::PUT, &setting, Some(&organiser), Some(json!({"enabled": true}))).await;
    on.expect_status(200);
    assert_eq!(
        app.get(&setting, &organiser).await.body,
        json!({"enabled": true, "expiry_months": null, "min_stars_to_spend": null})
    );
    // Recorded but not confirmed: nothing saved yet.
    assert_eq!(app.get("/mp/v1/me/time-bank", &volunteer).await.body["balance_minutes"], 0);
    let officer = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
    let sent = app.post(&format!("/api/v1/organisations/{org}/report-batches"), Some(&organiser), json!({})).await;
    sent.expect_status(201);
    app.post(&format!("/api/v1/report-batches/{}/confirm", sent.body["id"]), Some(&officer), json!({}))
        .await
        .expect_status(200);
    Served { admin, admin_key, org, organiser, activity, officer, volunteer_id, volunteer }
}

/// The administrator's token after signing in again (tokens last hours, tests days).
pub(crate) async fn signed_in_admin(app: &hourmark_tests::TestApp, key: &mut hourmark_tests::SoftPasskey) -> String {
    app.sign_in("admin", key).await.expect("passkey").body["access_token"].as_str().expect("token").to_owned()
}

on_both_backends! {
    async fn confirmed_minutes_are_saved_spent_given_and_corrected(app: TestApp) {
        let mut s = serve_and_confirm(&app).await;
        let account = app.get("/mp/v1/me/time-bank", &s.volunteer).await;
        account.expect_status(200);
        assert_eq!(account.body["balance_minutes"], 180, "the confirmed three hours are saved");
        // Reading again deposits nothing twice.
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 180);

        // A service received by the volunteer's mother, recorded by the organisation.
        let spend = json!({"key": "svc-1", "volunteer_id": s.volunteer_id, "minutes": 100,
                           "service": "助餐服务", "beneficiary": "母亲"});
        let spent = app.post("/api/v1/time-bank/spends", Some(&s.organiser), spend.clone()).await;
        spent.expect_status(201);
        assert_eq!(spent.body["kind"], "spend");
        // The same request again (a retry on a weak network): the same transaction, once.
        let retried = app.post("/api/v1/time-bank/spends", Some(&s.organiser), spend.clone()).await;
        retried.expect_status(201);
        assert_eq!(retried.body["id"], spent.body["id"]);
        let mut other = spend.clone();
        other["minutes"] = json!(90);
        app.post("/api/v1/time-bank/spends", Some(&s.organiser), other).await
            .expect_problem(409, "time_bank_key_reused");
        // By the number on the card: an unknown number, or an id and a number, change nothing.
        let unknown = json!({"key": "svc-n1", "volunteer_number": "999999999999", "minutes": 10, "service": "助浴"});
        app.post("/api/v1/time-bank/spends", Some(&s.organiser), unknown).await.expect_problem(404, "not_found");
        let both = json!({"key": "svc-n2", "volunteer_id": s.volunteer_id, "volunteer_number": "999999999999",
                          "minutes": 10, "service": "助浴"});
        app.post("/api/v1/time-bank/spends", Some(&s.organiser), both).await.expect_problem(422, "invalid_body");
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 80, "nothing posted");
        let too_much = json!({"key": "svc-2", "volunteer_id": s.volunteer_id, "minutes": 81, "service": "助浴"});
        app.post("/api/v1/time-bank/spends", Some(&s.organiser), too_much).await
            .expect_problem(409, "time_bank_insufficient");
        for (bad, code) in [
            (json!({"key": "", "volunteer_id": s.volunteer_id, "minutes": 1, "service": "x"}), "invalid_body"),
            (json!({"key": "register:1", "volunteer_id": s.volunteer_id, "minutes": 1, "service": "x"}), "invalid_body"),
            (json!({"key": "k", "volunteer_id": s.volunteer_id, "minutes": 0, "service": "x"}), "invalid_body"),
            (json!({"key": "k", "volunteer_id": s.volunteer_id, "minutes": -5, "service": "x"}), "invalid_body"),
            (json!({"key": "k", "volunteer_id": s.volunteer_id, "minutes": 1, "service": "助\u{202e}餐"}), "text_invalid"),
        ] {
            app.post("/api/v1/time-bank/spends", Some(&s.organiser), bad).await.expect_problem(422, code);
        }
        app.post("/api/v1/time-bank/spends", Some(&s.volunteer),
            json!({"key": "k", "volunteer_id": s.volunteer_id, "minutes": 1, "service": "x"})).await
            .expect_problem(403, "forbidden");
        app.post("/api/v1/time-bank/spends", Some(&s.organiser),
            json!({"key": "k", "volunteer_id": 999_999, "minutes": 1, "service": "x"})).await
            .expect_problem(404, "not_found");
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 80);

        // Donations: to another volunteer by number, to the pool; never to oneself.
        let (other_id, other_token) = app.volunteer("李四", "13900001234").await;
        let number = app.get("/mp/v1/me", &other_token).await.body["volunteer"]["volunteer_number"]
            .as_str().expect("number").to_owned();
        let mine = app.get("/mp/v1/me", &s.volunteer).await.body["volunteer"]["volunteer_number"]
            .as_str().expect("number").to_owned();
        let given = app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer),
            json!({"key": "gift-1", "to_volunteer_number": number, "minutes": 30})).await;
        given.expect_status(201);
        assert_eq!(given.body["kind"], "donation");
        assert_eq!(app.get("/mp/v1/me/time-bank", &other_token).await.body["balance_minutes"], 30);
        app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer),
            json!({"key": "gift-2", "to_volunteer_number": mine, "minutes": 1})).await
            .expect_problem(422, "time_bank_self_transfer");
        app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer),
            json!({"key": "gift-3", "to_volunteer_number": "100000000000", "minutes": 1})).await
            .expect_problem(404, "not_found");
        app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer),
            json!({"key": "gift-4", "minutes": 20})).await.expect_status(201);
        // The pool pays for a service to someone in need; it cannot pay more than it holds.
        app.post("/api/v1/time-bank/spends", Some(&s.organiser),
            json!({"key": "pool-1", "minutes": 15, "service": "陪诊", "beneficiary": "独居老人"})).await
            .expect_status(201);
        app.post("/api/v1/time-bank/spends", Some(&s.organiser),
            json!({"key": "pool-2", "minutes": 6, "service": "陪诊"})).await
            .expect_problem(409, "time_bank_insufficient");
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 30);
        let _ = other_id;

        // A correction to 60 minutes after 150 were spent or given: the replacement's 60 are
        // saved, the reversal takes back the 90 there are, and 90 are a shortfall.
        let admin = &s.admin;
        let recorder = crate::review::recorder(&app, admin, s.org).await;
        let second = crate::review::recorder(&app, admin, s.org).await;
        let _ = &s.admin;
        let corrections = format!("/api/v1/activities/{}/session-corrections", s.activity);
        let proposed = app.post(&corrections, Some(&recorder),
            json!({"volunteer_id": s.volunteer_id, "day": "2026-12-05", "minutes": 60, "reason": "复核"})).await;
        proposed.expect_status(201);
        app.post(&format!("{corrections}/{}/decision", proposed.body["id"]), Some(&second),
            json!({"approve": true, "reason": "核实"})).await.expect_status(200);
        app.advance(Duration::days(7));
        assert_eq!(app.hourmark.advance_publicity().await.expect("job"), 1);
        let admin = signed_in_admin(&app, &mut s.admin_key).await;
        let organiser = app.organiser(&admin, s.org).await;
        let batch = app.post(&format!("/api/v1/organisations/{}/report-batches", s.org), Some(&organiser), json!({}))
            .await;
        batch.expect_status(201);
        let _ = &s.officer;
        let officer = app.staff(&admin, json!({"name": "民政", "role": "officer", "region_code": "530102"})).await;
        app.post(&format!("/api/v1/report-batches/{}/confirm", batch.body["id"]), Some(&officer), json!({}))
            .await.expect_status(200);
        assert_eq!(app.get("/mp/v1/me/time-bank", &s.volunteer).await.body["balance_minutes"], 0);

        let statement = app.get("/mp/v1/me/time-bank/statement?month=2026-12", &s.volunteer).await;
        statement.expect_status(200);
        assert_eq!(statement.body["opening_minutes"], 0);
        assert_eq!(statement.body["closing_minutes"], 0);
        let lines = statement.body["lines"].as_array().expect("lines");
        let kinds: Vec<(&str, i64)> = lines.iter()
            .map(|l| (l["kind"].as_str().expect("kind"), l["change"].as_i64().expect("change"))).collect();
        assert_eq!(kinds, [("deposit", 180), ("spend", -100), ("donation", -30), ("donation", -20),
            ("deposit", 60), ("reversal", -90)]);
        assert_eq!(lines[5]["shortfall"], 90);
        assert_eq!(lines[1]["beneficiary"], "母亲");
        let csv = app.client.get(app.url("/mp/v1/me/time-bank/statement?month=2026-12&format=csv"))
            .bearer_auth(&s.volunteer).send().await.expect("sent");
        assert!(csv.headers()["content-type"].to_str().expect("ascii").starts_with("text/csv"));
        let text = csv.text().await.expect("text");
        assert!(text.starts_with("\u{feff}交易编号,时间,类型,变动（分钟）"), "{text}");
        assert!(text.contains("\"兑换服务\",\"-100\",\"助餐服务\",\"母亲\""), "{text}");
        assert!(text.contains("\"冲回\",\"-90\""), "{text}");
        let xlsx = app.client.get(app.url("/mp/v1/me/time-bank/statement?month=2026-12&format=xlsx"))
            .bearer_auth(&s.volunteer).send().await.expect("sent");
        assert_eq!(xlsx.headers()["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
        let bytes = xlsx.bytes().await.expect("bytes");
        let mut workbook = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("an XLSX is a zip");
        let mut strings = String::new();
        std::io::Read::read_to_string(&mut workbook.by_name("xl/sharedStrings.xml").expect("strings"), &mut strings)
            .expect("utf-8");
        for cell in ["期初余额", "兑换服务", "助餐服务", "母亲", "冲回", "期末余额"] {
            assert!(strings.contains(cell), "{cell} in {strings}");
        }
        app.get("/mp/v1/me/time-bank/statement?month=2026-13", &s.volunteer).await
            .expect_problem(400, "invalid_parameter");
        app.get("/mp/v1/me/time-bank/statement?format=pdf", &s.volunteer).await
            .expect_problem(400, "invalid_parameter");

        // Only the volunteer and administrators read an account; the books balance.
        let path = format!("/api/v1/volunteers/{}/time-bank", s.volunteer_id);
        app.get(&path, &organiser).await.expect_problem(403, "forbidden");
        assert_eq!(app.get(&path, &admin).await.body["balance_minutes"], 0);
        app.get("/api/v1/time-bank/check", &organiser).await.expect_problem(403, "forbidden");
        let check = app.get("/api/v1/time-bank/check", &admin).await;
        check.expect_status(200);
        assert_eq!(check.body["ok"], true, "{}", check.body);
        assert_eq!(check.body["balance_sum"], 0);
    }
}

on_both_backends! {
    /// Where the organisation sets an expiry, unspent saved minutes lapse, earliest first.
    async fn unspent_minutes_lapse_where_the_organisation_says_so(app: TestApp) {
        let mut s = serve_and_confirm(&app).await;
        let setting = format!("/api/v1/organisations/{}/time-bank", s.org);
        app.call(reqwest::Method::PUT, &setting, Some(&s.organiser), Some(json!({"enabled": true, "expiry_months": 1})))
            .await.expect_status(200);
        let account = app.get("/mp/v1/me/time-bank", &s.volunteer).await;
        assert_eq!(account.body["balance_minutes"], 180);
        assert!(account.body["next_expiry"].is_string(), "{}", account.body);
        app.post("/mp/v1/me/time-bank/donations", Some(&s.volunteer), json!({"key": "g", "minutes": 50})).await
            .expect_status(201);
        app.advance(Duration::days(32));
        // A month on, the volunteer's sign-in has lapsed; the administrator looks.
        let admin = signed_in_admin(&app, &mut s.admin_key).await;
        let path = format!("/api/v1/volunteers/{}/time-bank", s.volunteer_id);
        let account = app.get(&path, &admin).await;
        assert_eq!(account.body["balance_minutes"], 0, "the 130 left lapsed: {}", account.body);
        assert!(account.body["next_expiry"].is_null());
        let month = hourmark_core::time_bank::current_month(app.hourmark.now());
        let statement = app.get(&format!("{path}/statement?month={month}"), &admin).await;
        let last = statement.body["lines"].as_array().and_then(|l| l.last()).cloned().expect("a line");
        assert_eq!((last["kind"].as_str(), last["change"].as_i64()), (Some("expiry"), Some(-130)));
        // Looking again lapses nothing more.
        assert_eq!(app.get(&path, &admin).await.body["balance_minutes"], 0);
        let check = app.get("/api/v1/time-bank/check", &admin).await;
        assert_eq!(check.body["ok"], true, "{}", check.body);
        assert_eq!(check.body["transactions"], 3, "deposit, donation, expiry: {}", check.body);
    }
}

/// A small deterministic generator: the same seed, the same sequence, so a failure names
/// the seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Post this transaction under its own key.
    Fresh(hourmark_core::time_bank::NewBankTransaction),
    /// Post an earlier op's transaction again (a retry).
    Retry(usize),
    /// Post an earlier op's key with other minutes.
    Reuse(usize),
}

fn random_ops(seed: u64, volunteers: &[i64], count: usize) -> Vec<Op> {
    use hourmark_core::time_bank::{AccountRef as A, BankTransactionKind as K, NewBankTransaction};
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut ops = Vec::with_capacity(count);
    for n in 0..count {
        let minutes = 1 + rng.below(120) as i64;
        let v = |rng: &mut Rng| A::Volunteer(volunteers[rng.below(volunteers.len() as u64) as usize]);
        let (kind, postings) = match rng.below(10) {
            0..=2 => {
                let to = v(&mut rng);
                (K::Deposit, vec![(A::Deposits, -minutes), (to, minutes)])
            }
            3..=4 => {
                let from = if rng.below(4) == 0 { A::Pool } else { v(&mut rng) };
                (K::Spend, vec![(from, -minutes), (A::Services, minutes)])
            }
            5..=6 => {
                let from = v(&mut rng);
                let mut to = if rng.below(3) == 0 { A::Pool } else { v(&mut rng) };
                if to == from {
                    to = A::Pool;
                }
                (K::Donation, vec![(from, -minutes), (to, minutes)])
            }
            7..=8 if n > 0 => {
                ops.push(Op::Retry(rng.below(n as u64) as usize));
                continue;
            }
            _ if n > 0 => {
                ops.push(Op::Reuse(rng.below(n as u64) as usize));
                continue;
            }
            _ => {
                let to = v(&mut rng);
                (K::Deposit, vec![(A::Deposits, -minutes), (to, minutes)])
            }
        };
        ops.push(Op::Fresh(NewBankTransaction {
            key: format!("prop-{seed}-{n}"),
            kind,
            minutes,
            shortfall: 0,
            register_seq: None,
            organisation_id: None,
            service: (kind == K::Spend).then(|| "助餐".to_owned()),
            beneficiary: None,
            expires_at: None,
            by_staff: None,
            by_volunteer: None,
            at: chrono::Utc::now(),
            postings,
        }));
    }
    ops
}

/// The transaction an op posts.
fn transaction_of(ops: &[Op], n: usize) -> hourmark_core::time_bank::NewBankTransaction {
    match &ops[n] {
        Op::Fresh(t) => t.clone(),
        Op::Retry(of) => transaction_of(ops, *of),
        Op::Reuse(of) => {
            let mut t = transaction_of(ops, *of);
            t.minutes += 1;
            for (_, m) in &mut t.postings {
                *m += m.signum();
            }
            t
        }
    }
}

on_both_backends! {
    /// Random sequences of deposits, spends, donations, retries and replayed keys with other
    /// contents, run one at a time against a model and four at a time concurrently: the sum
    /// over all accounts is zero, no savings account or the pool goes below zero, every
    /// balance is the sum of its postings, and a retried transaction counts once.
    async fn the_books_balance_under_random_concurrent_transactions(app: TestApp) {
        use std::collections::HashMap;
        use hourmark_core::time_bank::{AccountRef, Posting};
        let mut volunteers = Vec::new();
        for (n, name) in ["甲", "乙", "丙", "丁"].iter().enumerate() {
            volunteers.push(app.volunteer(name, &format!("1380000{:04}", 100 + n)).await.0);
        }
        let store = app.hourmark.store().clone();
        let accounts: Vec<AccountRef> = volunteers.iter().map(|v| AccountRef::Volunteer(*v))
            .chain([AccountRef::Pool, AccountRef::Deposits, AccountRef::Services]).collect();
        let mut expected: HashMap<AccountRef, i64> = HashMap::new();

        for seed in 1..=12u64 {
            let ops = random_ops(seed, &volunteers, 60);
            let concurrent = seed % 2 == 0;
            let before = expected.clone();
            // What each op came to, by index.
            let outcomes: Vec<Posting> = if concurrent {
                let mut tasks = Vec::new();
                for lane in 0..4 {
                    let (store, ops) = (store.clone(), ops.clone());
                    tasks.push(tokio::spawn(async move {
                        let mut out = Vec::new();
                        for n in (lane..ops.len()).step_by(4) {
                            out.push((n, store.post_bank_transaction(&transaction_of(&ops, n)).await.expect("posts")));
                        }
                        out
                    }));
                }
                let mut all = Vec::new();
                for task in tasks {
                    all.extend(task.await.expect("lane"));
                }
                all.sort_by_key(|(n, _)| *n);
                all.into_iter().map(|(_, p)| p).collect()
            } else {
                let mut out = Vec::new();
                for n in 0..ops.len() {
                    out.push(store.post_bank_transaction(&transaction_of(&ops, n)).await.expect("posts"));
                }
                out
            };

            // Whatever the interleaving: each key posted at most once, and every answer for
            // a key names that one transaction.
            let mut posted_by_key: HashMap<String, i64> = HashMap::new();
            for (n, outcome) in outcomes.iter().enumerate() {
                if let Posting::Posted(t) = outcome {
                    assert!(posted_by_key.insert(t.key.clone(), t.id).is_none(), "seed {seed}: {} posted twice", t.key);
                    for (account, minutes) in &transaction_of(&ops, n).postings {
                        *expected.entry(*account).or_default() += minutes;
                    }
                }
            }
            for outcome in &outcomes {
                if let Posting::Replayed(t) = outcome {
                    assert_eq!(posted_by_key.get(&t.key), Some(&t.id), "seed {seed}: a replay names the posted one");
                }
            }
            if !concurrent {
                // One at a time, the answers are exactly the model's.
                let mut model = before;
                let mut first: HashMap<String, usize> = HashMap::new();
                for (n, outcome) in outcomes.iter().enumerate() {
                    let t = transaction_of(&ops, n);
                    let want = match first.get(&t.key) {
                        Some(&m) if transaction_of(&ops, m).fingerprint() == t.fingerprint() => "replayed",
                        Some(_) => "key_reused",
                        None => {
                            let fits = t.postings.iter().all(|(a, m)| {
                                !matches!(a, AccountRef::Volunteer(_) | AccountRef::Pool)
                                    || model.get(a).copied().unwrap_or(0) + m >= 0
                            });
                            if fits {
                                for (a, m) in &t.postings {
                                    *model.entry(*a).or_default() += m;
                                }
                                first.insert(t.key.clone(), n);
                                "posted"
                            } else {
                                "insufficient"
                            }
                        }
                    };
                    let got = match outcome {
                        Posting::Posted(_) => "posted",
                        Posting::Replayed(_) => "replayed",
                        Posting::KeyReused => "key_reused",
                        Posting::Insufficient => "insufficient",
                    };
                    assert_eq!(got, want, "seed {seed}, op {n}: {:?}", ops[n]);
                }
            }
            for account in &accounts {
                let balance = store.bank_balance(*account).await.expect("balance");
                assert_eq!(balance, expected.get(account).copied().unwrap_or(0), "seed {seed}: {account:?}");
                if matches!(account, AccountRef::Volunteer(_) | AccountRef::Pool) {
                    assert!(balance >= 0, "seed {seed}: {account:?} below zero");
                }
            }
            let check = store.bank_check().await.expect("check");
            assert!(check.ok, "seed {seed}: {check:?}");
            assert_eq!(check.balance_sum, 0);
        }
        let check = store.bank_check().await.expect("check");
        assert!(check.transactions > 100, "the sequences did post: {check:?}");
    }
}

on_both_backends! {
    /// An administrator finds an account by the number on the volunteer's card, and the
    /// id it answers is the one the statement takes. Anyone else is refused before the
    /// number is looked up; a number no one has, or no number, is refused too.
    async fn an_administrator_finds_an_account_by_volunteer_number(app: TestApp) {
        let s = serve_and_confirm(&app).await;
        let number = app.get(&format!("/api/v1/volunteers/{}", s.volunteer_id), &s.admin).await.body
            ["volunteer_number"]
            .as_str()
            .expect("number")
            .to_owned();
        let lookup = |number: &str| format!("/api/v1/time-bank/accounts?volunteer_number={number}");
        let found = app.get(&lookup(&format!(" {number} ")), &s.admin).await;
        found.expect_status(200);
        assert_eq!(found.body["volunteer_id"], s.volunteer_id);
        assert_eq!(found.body["balance_minutes"], 180, "{}", found.body);
        let statement = app.get(&format!("/api/v1/volunteers/{}/time-bank/statement", s.volunteer_id), &s.admin).await;
        assert_eq!(statement.body["closing_minutes"], 180, "{}", statement.body);
        for caller in [&s.officer, &s.organiser, &s.volunteer] {
            app.get(&lookup(&number), caller).await.expect_problem(403, "forbidden");
            app.get(&lookup("100000000000"), caller).await.expect_problem(403, "forbidden");
        }
        app.get(&lookup("100000000000"), &s.admin).await.expect_problem(404, "not_found");
        app.get(&lookup("HM2026"), &s.admin).await.expect_problem(404, "not_found");
        app.get("/api/v1/time-bank/accounts", &s.admin).await.expect_problem(400, "invalid_parameter");
    }
}
