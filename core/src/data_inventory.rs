//! The data inventory (个人信息清单): every stored column that holds personal data, what
//! it holds, why, on which legal basis under the PIPL (个人信息保护法), who can read it,
//! how long it is kept, and how it is protected at rest.
//!
//! Declared once, here, and generated into the rest: `GET /api/v1/data-inventory` for
//! administrators and `docs/data-inventory.md` (a test checks the file matches
//! [`render_markdown`]). Another test reads the migrated schema's catalogue and fails when
//! a table gains a column that is not declared here, either as personal (a
//! [`PersonalField`]) or as not personal in itself (`other_columns`), and when a new table
//! is neither in [`PERSONAL_TABLES`] nor in [`NOT_PERSONAL_TABLES`]: a migration cannot add
//! personal data without someone saying what it is for.
//!
//! Retention says what the code does today, not what it should: where nothing erases a
//! row, it says so.

use serde::Serialize;
use utoipa::ToSchema;

/// Whose data a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DataSubject {
    /// Volunteers (志愿者), including minors and their guardians.
    Volunteer,
    /// Staff of organisations, civil-affairs officers and administrators.
    Staff,
    /// Members of the public who complain or object.
    Public,
    /// Whoever acted: a volunteer, a staff member or the system.
    Anyone,
}

/// The legal basis for processing, as PIPL article 13 lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// Art. 13(1): the person's consent (for sensitive data, separate consent, art. 29;
    /// under 14, the guardian's, art. 31). Withdrawable (art. 15).
    Consent,
    /// Art. 13(2): necessary for human-resources management under lawful rules (staff
    /// accounts and their work).
    HumanResources,
    /// Art. 13(3): necessary to fulfil a statutory duty: the Regulations on Volunteer
    /// Service (志愿服务条例) require organisations to record volunteers' basic
    /// information, service, training, awards and evaluations truthfully.
    StatutoryDuty,
}

impl LegalBasis {
    /// How the inventory names it.
    pub fn describe(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent (PIPL art. 13(1); separate consent for sensitive data, art. 29)",
            LegalBasis::HumanResources => "human-resources management (PIPL art. 13(2))",
            LegalBasis::StatutoryDuty => "statutory duty: volunteer service records (PIPL art. 13(3); 志愿服务条例)",
        }
    }
}

/// How a value is kept at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Encrypted (AES-256-GCM) under the PII keys from configuration, never the database.
    Sealed,
    /// A keyed hash (HMAC under the PII lookup key): finds a value, cannot show it.
    KeyedHash,
    /// A plain hash (SHA-256) of a random secret: checks it, cannot show it.
    Hashed,
    /// Stored as is; protected by access control and the database's own protection.
    Plain,
}

/// One personal column.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PersonalField {
    /// The column.
    pub column: &'static str,
    /// What it holds.
    pub holds: &'static str,
    /// How it is kept.
    pub protection: Protection,
    /// A basis other than the table's, for this column.
    pub basis: Option<LegalBasis>,
}

const fn field(column: &'static str, holds: &'static str, protection: Protection) -> PersonalField {
    PersonalField { column, holds, protection, basis: None }
}

const fn plain(column: &'static str, holds: &'static str) -> PersonalField {
    field(column, holds, Protection::Plain)
}

const fn by_consent(column: &'static str, holds: &'static str, protection: Protection) -> PersonalField {
    PersonalField { column, holds, protection, basis: Some(LegalBasis::Consent) }
}

/// A table holding personal data.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PersonalTable {
    /// The table.
    pub table: &'static str,
    /// Whose data.
    pub subject: DataSubject,
    /// Why it is kept.
    pub purpose: &'static str,
    /// The basis for its columns (a column may name another).
    pub basis: LegalBasis,
    /// Who can read it, through which part of the API.
    pub readers: &'static str,
    /// How long it is kept.
    pub retention: &'static str,
    /// Its personal columns.
    pub fields: &'static [PersonalField],
    /// Its other columns: keys, references to a person already listed (`volunteer_id`,
    /// `*_by` naming the staff member who acted), times and states that say nothing about
    /// a person on their own.
    pub other_columns: &'static [&'static str],
}

const RECORD_READERS: &str = "the volunteer (their own, `/mp/v1/me…`); staff of the organisation concerned by role \
     (organisers, recorders; leaders only their activities' attendance); civil-affairs officers of its region; \
     administrators";
const KEPT_WITH_RECORD: &str = "kept with the service record; nothing erases it automatically";
const KEPT_ACCOUNT: &str = "kept while the account exists; nothing erases it automatically";

/// Every table that holds personal data.
pub const PERSONAL_TABLES: &[PersonalTable] = &[
    PersonalTable {
        table: "volunteer",
        subject: DataSubject::Volunteer,
        purpose: "identify the volunteer (one person, one volunteer), contact them, and print their record and certificates",
        basis: LegalBasis::StatutoryDuty,
        readers: "the volunteer in full; everyone else masked (an ID number shows only its first and last characters, \
                  a phone number its first three and last four digits): staff of organisations they served or signed up with, civil-affairs officers of \
                  regions they served in, administrators",
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("volunteer_number", "volunteer number"),
            plain("name", "name"),
            plain("gender", "gender"),
            plain("birth_month", "birth month (age checks, minors' guardian consent)"),
            plain("id_type", "type of ID document"),
            field("id_number_sealed", "ID number (sensitive)", Protection::Sealed),
            field("id_number_lookup", "ID number's keyed hash, to refuse a second registration", Protection::KeyedHash),
            field("phone_sealed", "mobile number", Protection::Sealed),
            field("phone_lookup", "mobile number's keyed hash, for SMS sign-in", Protection::KeyedHash),
            by_consent("skills", "skills the volunteer chose to give", Protection::Plain),
            plain("device_id", "the bound phone's identifier (one scanning device per volunteer)"),
            plain("device_bound_at", "when that phone was bound"),
            plain(
                "roster_import_id",
                "the roster import that registered them, if any (not visible to anyone until that import is published)",
            ),
        ],
        other_columns: &["id", "created_at"],
    },
    PersonalTable {
        table: "roster_staging",
        subject: DataSubject::Volunteer,
        purpose: "hold a roster import's rows, a chunk at a time, until one transaction publishes them all \
                  (so the import is all or nothing without holding SQLite's single writer for its length)",
        basis: LegalBasis::StatutoryDuty,
        readers: "no one: only the import that staged them reads them, to publish them",
        retention: "deleted as soon as the import is published or fails; rows of an import cut off part way \
                    are erased by the retention job a day after they were staged",
        fields: &[
            plain("volunteer_number", "the volunteer number drawn for a new volunteer"),
            plain("name", "name"),
            plain("gender", "gender"),
            plain("birth_month", "birth month"),
            plain("id_type", "type of ID document"),
            field("id_number_sealed", "ID number (sensitive)", Protection::Sealed),
            field("id_number_lookup", "ID number's keyed hash", Protection::KeyedHash),
            field("phone_sealed", "mobile number", Protection::Sealed),
            field("phone_lookup", "mobile number's keyed hash", Protection::KeyedHash),
            by_consent("skills", "skills the volunteer gave on the roster", Protection::Plain),
            plain("consents", "the consents the volunteer signed on paper, with the notice version"),
            plain("volunteer_id", "a volunteer already registered, to be linked to the roster"),
        ],
        other_columns: &["staging_key", "position", "created_at"],
    },
    PersonalTable {
        table: "consent",
        subject: DataSubject::Volunteer,
        purpose: "prove what the volunteer (or a minor's guardian) agreed to, and when",
        basis: LegalBasis::Consent,
        readers: "the volunteer; administrators; staff of organisations they served (state only)",
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("purpose", "what was consented to (record, publicity, location, guardian)"),
            plain("granted", "given or withdrawn"),
            plain("notice_version", "the notice shown"),
            field(
                "detail_sealed",
                "a guardian's name, relation and phone, and how their consent was confirmed (a code to their phone)",
                Protection::Sealed,
            ),
            plain("recorded_at", "when"),
            plain("roster_import_id", "the roster import that recorded a paper consent, if any"),
        ],
        other_columns: &["id", "volunteer_id"],
    },
    PersonalTable {
        table: "extra_field",
        subject: DataSubject::Volunteer,
        purpose: "optional details the volunteer chose to give",
        basis: LegalBasis::Consent,
        readers: "the volunteer; staff of organisations they served, while consent stands",
        retention: "until the volunteer withdraws consent or clears it",
        fields: &[plain("field", "which detail"), field("value_sealed", "its value", Protection::Sealed)],
        other_columns: &["volunteer_id", "updated_at"],
    },
    PersonalTable {
        table: "extra_field_consent",
        subject: DataSubject::Volunteer,
        purpose: "prove consent to each optional detail",
        basis: LegalBasis::Consent,
        readers: "the volunteer; administrators",
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("field", "which detail"),
            plain("granted", "given or withdrawn"),
            plain("notice_version", "the notice shown"),
        ],
        other_columns: &["id", "volunteer_id", "recorded_at"],
    },
    PersonalTable {
        table: "wechat_binding",
        subject: DataSubject::Volunteer,
        purpose: "sign the volunteer in through the WeChat mini program and send them subscription messages",
        basis: LegalBasis::Consent,
        readers: "no one through the API (used by sign-in and message delivery)",
        retention: KEPT_ACCOUNT,
        fields: &[
            plain("openid", "WeChat openid for this mini program"),
            plain("unionid", "WeChat unionid, when WeChat gives one"),
        ],
        other_columns: &["volunteer_id", "bound_at"],
    },
    PersonalTable {
        table: "wechat_binding_oa",
        subject: DataSubject::Volunteer,
        purpose: "sign the volunteer in inside WeChat's own browser through the Official Account (网页授权)",
        basis: LegalBasis::Consent,
        readers: "no one through the API (used by sign-in)",
        retention: KEPT_ACCOUNT,
        fields: &[
            plain("oa_openid", "WeChat openid for the Official Account (not the mini program's)"),
            plain("unionid", "WeChat unionid, when WeChat gives one"),
        ],
        other_columns: &["volunteer_id", "bound_at"],
    },
    PersonalTable {
        table: "access_token",
        subject: DataSubject::Anyone,
        purpose: "authenticate API and console sessions",
        basis: LegalBasis::StatutoryDuty,
        readers: "no one through the API (the holder presents the token)",
        retention: "until expiry; erased by the retention job a day after it expired",
        fields: &[
            field("token_hash", "the bearer token's hash", Protection::Hashed),
            plain("last_seen_at", "last use of a console session"),
        ],
        other_columns: &["staff_id", "volunteer_id", "created_at", "expires_at", "revoked_at", "idle_minutes"],
    },
    PersonalTable {
        table: "sms_code",
        subject: DataSubject::Volunteer,
        purpose: "one-time SMS codes: sign-in, and confirming a registration or a guardian's consent before anything of it is stored",
        basis: LegalBasis::Consent,
        readers: "no one",
        retention: "five minutes of use; erased by the retention job a day after it expired",
        fields: &[
            field(
                "phone_lookup",
                "the number's keyed hash (sign-in), or of the registration or volunteer the code confirms",
                Protection::KeyedHash,
            ),
            field(
                "code_hash",
                "the one-time code's keyed hash (with the number, or with every field of the registration or guardian consent it confirms)",
                Protection::KeyedHash,
            ),
        ],
        other_columns: &["created_at", "expires_at", "attempts", "used_at"],
    },
    PersonalTable {
        table: "scan",
        subject: DataSubject::Volunteer,
        purpose: "record attendance (arrival, departure) and check it was made at the venue",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("server_time", "when the scan arrived"),
            plain("client_time", "when the phone says it scanned"),
            plain("uploaded_at", "when an offline scan was uploaded"),
            by_consent("distance_m", "distance from the venue (never the position itself)", Protection::Plain),
            by_consent("accuracy_m", "the position fix's accuracy", Protection::Plain),
            by_consent("geofence", "inside, outside or poor fix", Protection::Plain),
            plain("device_id", "the scanning phone's identifier"),
            plain("client_network", "the client's network address class, for review"),
            plain("answer", "the answer sent to the phone"),
        ],
        other_columns: &[
            "id",
            "volunteer_id",
            "client_nonce",
            "activity_id",
            "gate",
            "direction",
            "outcome",
            "code_window",
            "key_id",
            "answer_status",
            "created_at",
            "seq",
            "recorded_by_xact",
        ],
    },
    PersonalTable {
        table: "staff",
        subject: DataSubject::Staff,
        purpose: "staff accounts: who may do what, and recorders' qualifications",
        basis: LegalBasis::HumanResources,
        readers: "administrators; the staff member; staff overseers of their organisation and region",
        retention: KEPT_ACCOUNT,
        fields: &[
            plain("name", "name"),
            plain("login", "sign-in name"),
            plain("certificate_number", "recorder's qualification certificate number"),
            plain("certificate_issued_on", "when it was issued"),
            plain("review_due_on", "when its review is due"),
            plain("webauthn_user_id", "the passkeys' opaque user handle"),
        ],
        other_columns: &["id", "organisation_id", "role", "region_code", "created_at", "agency"],
    },
    PersonalTable {
        table: "staff_passkey",
        subject: DataSubject::Staff,
        purpose: "sign staff in with passkeys",
        basis: LegalBasis::HumanResources,
        readers: "the staff member (labels); administrators",
        retention: "until the passkey is removed",
        fields: &[
            plain("credential_id", "the passkey's id"),
            plain("credential", "its public key and counter"),
            plain("label", "the name its owner gave it"),
            plain("last_used_at", "last sign-in with it"),
        ],
        other_columns: &["id", "staff_id", "created_at"],
    },
    PersonalTable {
        table: "staff_invite",
        subject: DataSubject::Staff,
        purpose: "one-time links to enrol a passkey",
        basis: LegalBasis::HumanResources,
        readers: "no one (the link's holder presents it)",
        retention: "until used or expired; erased by the retention job a day after it expired",
        fields: &[field("token_hash", "the invite token's hash", Protection::Hashed)],
        other_columns: &["staff_id", "created_by", "created_at", "expires_at", "used_at"],
    },
    PersonalTable {
        table: "recorder_qualification_event",
        subject: DataSubject::Staff,
        purpose: "history of recorders' qualification reviews and renewals",
        basis: LegalBasis::HumanResources,
        readers: "administrators; staff overseers",
        retention: KEPT_ACCOUNT,
        fields: &[
            plain("previous_certificate_number", "certificate before the event"),
            plain("certificate_number", "certificate after it"),
            plain("reviewed_on", "review date"),
        ],
        other_columns: &[
            "id",
            "staff_id",
            "kind",
            "previous_certificate_issued_on",
            "previous_review_due_on",
            "certificate_issued_on",
            "review_due_on",
            "recorded_by",
            "created_at",
        ],
    },
    PersonalTable {
        table: "audit_event",
        subject: DataSubject::Anyone,
        purpose: "accountability: who did what to which record",
        basis: LegalBasis::StatutoryDuty,
        readers: "administrators",
        retention: "kept; nothing erases it automatically",
        fields: &[plain("actor_id", "who acted"), plain("detail", "what changed (never ID or phone numbers)")],
        other_columns: &["id", "at", "actor_kind", "action", "subject_kind", "subject_id"],
    },
    PersonalTable {
        table: "organisation_event",
        subject: DataSubject::Staff,
        purpose: "history of an organisation's application, approval and revocation",
        basis: LegalBasis::StatutoryDuty,
        readers: "administrators; civil-affairs officers of the region",
        retention: "kept; nothing erases it automatically",
        fields: &[plain("staff_id", "who acted"), plain("reason", "their reason")],
        other_columns: &["id", "organisation_id", "action", "at"],
    },
    PersonalTable {
        table: "correction_request",
        subject: DataSubject::Volunteer,
        purpose: "a volunteer's request to correct their details (PIPL art. 46)",
        basis: LegalBasis::StatutoryDuty,
        readers: "the volunteer; staff of organisations they served",
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("field", "which detail"),
            plain("requested_value", "the value asked for (name, gender, birth month, skills or other)"),
            plain("reason", "the volunteer's reason"),
            plain("decision_reason", "the decision's reason"),
        ],
        other_columns: &["id", "volunteer_id", "status", "requested_at", "decided_by", "decided_at"],
    },
    PersonalTable {
        table: "review_flag",
        subject: DataSubject::Volunteer,
        purpose: "anomalies found in attendance, reviewed before hours are final",
        basis: LegalBasis::StatutoryDuty,
        readers: "recorders of the organisation; the volunteer (the outcome)",
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("rule", "which rule found it"),
            plain("evidence", "what the rule saw"),
            plain("explanation", "the volunteer's explanation"),
            plain("resolution_reason", "the reviewer's reason"),
            plain("adjusted_minutes", "minutes after review"),
        ],
        other_columns: &[
            "id",
            "activity_id",
            "volunteer_id",
            "severity",
            "reviewer",
            "local_day",
            "dedupe_key",
            "raised_at",
            "status",
            "resolved_by",
            "resolved_at",
        ],
    },
    PersonalTable {
        table: "notification",
        subject: DataSubject::Volunteer,
        purpose: "tell volunteers what happened to their hours and sign-ups",
        basis: LegalBasis::StatutoryDuty,
        readers: "the volunteer",
        retention: "kept; nothing erases it automatically",
        fields: &[plain("body", "the message"), plain("data", "its details"), plain("read_at", "when it was read")],
        other_columns: &["id", "volunteer_id", "dedupe_key", "created_at", "kind"],
    },
    PersonalTable {
        table: "late_entry",
        subject: DataSubject::Volunteer,
        purpose: "hours for a volunteer who served but could not scan (补录)",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("minutes", "minutes asked for"),
            plain("evidence", "the evidence given"),
            plain("reason", "why"),
            plain("decision_reason", "the decision's reason"),
        ],
        other_columns: &[
            "id",
            "activity_id",
            "volunteer_id",
            "local_day",
            "requested_by",
            "requested_at",
            "status",
            "decided_by",
            "decided_at",
        ],
    },
    PersonalTable {
        table: "finalised_session",
        subject: DataSubject::Volunteer,
        purpose: "a volunteer's final minutes for a day of an activity",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: KEPT_WITH_RECORD,
        fields: &[plain("scan_minutes", "minutes from scans"), plain("final_minutes", "minutes after review")],
        other_columns: &["activity_id", "volunteer_id", "local_day", "source"],
    },
    PersonalTable {
        table: "session_correction",
        subject: DataSubject::Volunteer,
        purpose: "corrections of finalised minutes",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("old_minutes", "minutes before"),
            plain("new_minutes", "minutes after"),
            plain("reason", "why"),
        ],
        other_columns: &[
            "id",
            "activity_id",
            "volunteer_id",
            "local_day",
            "corrected_by",
            "corrected_at",
            "approved_by",
        ],
    },
    PersonalTable {
        table: "session_correction_proposal",
        subject: DataSubject::Volunteer,
        purpose: "proposed corrections of finalised minutes, decided by a second recorder",
        basis: LegalBasis::StatutoryDuty,
        readers: "recorders of the organisation",
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("from_minutes", "minutes before"),
            plain("to_minutes", "minutes proposed"),
            plain("reason", "why"),
            plain("decision_reason", "the decision's reason"),
        ],
        other_columns: &[
            "id",
            "activity_id",
            "volunteer_id",
            "local_day",
            "proposed_by",
            "proposed_at",
            "status",
            "decided_by",
            "decided_at",
        ],
    },
    PersonalTable {
        table: "evaluation",
        subject: DataSubject::Volunteer,
        purpose: "the organisation's evaluation of the volunteer's service (评价情况)",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: KEPT_WITH_RECORD,
        fields: &[plain("grade", "grade"), plain("comment", "comment")],
        other_columns: &["activity_id", "volunteer_id", "evaluated_by", "evaluated_at"],
    },
    PersonalTable {
        table: "complaint",
        subject: DataSubject::Public,
        purpose: "complaints about a volunteer's service, investigated and decided",
        basis: LegalBasis::StatutoryDuty,
        readers: "staff of the organisation concerned; the complainant's identity only to them",
        retention: KEPT_WITH_RECORD,
        fields: &[
            field("complainant_sealed", "who complained and how to reach them", Protection::Sealed),
            plain("description", "the complaint"),
            plain("investigation", "the investigation's findings"),
            plain("decision_reason", "the decision's reason"),
        ],
        other_columns: &[
            "id",
            "volunteer_id",
            "organisation_id",
            "activity_id",
            "status",
            "filed_by",
            "filed_at",
            "decided_by",
            "decided_at",
        ],
    },
    PersonalTable {
        table: "training",
        subject: DataSubject::Volunteer,
        purpose: "training received (培训情况)",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: KEPT_WITH_RECORD,
        fields: &[plain("title", "the training"), plain("held_on", "when"), plain("hours", "hours")],
        other_columns: &["id", "volunteer_id", "organisation_id", "recorded_by", "recorded_at"],
    },
    PersonalTable {
        table: "award",
        subject: DataSubject::Volunteer,
        purpose: "awards received (表彰奖励情况)",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: KEPT_WITH_RECORD,
        fields: &[plain("title", "the award"), plain("awarded_by", "who gave it"), plain("awarded_on", "when")],
        other_columns: &["id", "volunteer_id", "organisation_id", "recorded_by", "recorded_at"],
    },
    PersonalTable {
        table: "publicity_entry",
        subject: DataSubject::Volunteer,
        purpose: "hours shown publicly (masked name) before they enter the register",
        basis: LegalBasis::StatutoryDuty,
        readers: "the public board shows a masked name and hours; otherwise as the record",
        retention: KEPT_WITH_RECORD,
        fields: &[plain("local_day", "the day served"), plain("minutes", "minutes")],
        other_columns: &[
            "id",
            "activity_id",
            "volunteer_id",
            "published_on",
            "working_days",
            "ends_on",
            "status",
            "created_at",
            "recorded_at",
            "restart_reason",
        ],
    },
    PersonalTable {
        table: "register_entry",
        subject: DataSubject::Volunteer,
        purpose: "the service register (志愿服务记录): append-only, hash-chained",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: "permanent: the register is append-only (corrections are new entries)",
        fields: &[
            plain("minutes", "minutes credited"),
            plain("content", "the entry: activity, day, minutes, volunteer number"),
        ],
        other_columns: &[
            "seq",
            "kind",
            "publicity_entry_id",
            "organisation_id",
            "volunteer_id",
            "previous_hash",
            "hash",
            "created_at",
        ],
    },
    PersonalTable {
        table: "objection",
        subject: DataSubject::Public,
        purpose: "objections raised against published hours",
        basis: LegalBasis::StatutoryDuty,
        readers: "staff of the organisation concerned",
        retention: KEPT_WITH_RECORD,
        fields: &[
            field("contact_sealed", "how to reach whoever objected", Protection::Sealed),
            plain("reason", "the objection"),
            plain("decision_reason", "the decision's reason"),
            plain("corrected_minutes", "minutes after the decision"),
        ],
        other_columns: &[
            "id",
            "publicity_entry_id",
            "raised_by_staff",
            "raised_at",
            "status",
            "decided_by",
            "decided_at",
        ],
    },
    PersonalTable {
        table: "time_bank_account",
        subject: DataSubject::Volunteer,
        purpose: "a volunteer's time-bank balance",
        basis: LegalBasis::Consent,
        readers: "the volunteer; staff of organisations with the time bank on",
        retention: KEPT_ACCOUNT,
        fields: &[plain("balance", "minutes held")],
        other_columns: &["id", "kind", "volunteer_id", "created_at"],
    },
    PersonalTable {
        table: "time_bank_transaction",
        subject: DataSubject::Volunteer,
        purpose: "time-bank deposits and spending",
        basis: LegalBasis::Consent,
        readers: "the volunteer; staff of organisations with the time bank on",
        retention: KEPT_ACCOUNT,
        fields: &[
            plain("service", "the service spent on"),
            plain("beneficiary", "who benefited"),
            plain("by_volunteer", "the volunteer who spent"),
        ],
        other_columns: &[
            "id",
            "key",
            "kind",
            "fingerprint",
            "minutes",
            "shortfall",
            "register_seq",
            "organisation_id",
            "expires_at",
            "by_staff",
            "created_at",
        ],
    },
    PersonalTable {
        table: "time_bank_posting",
        subject: DataSubject::Volunteer,
        purpose: "each transaction's movement on each account",
        basis: LegalBasis::Consent,
        readers: "the volunteer; staff of organisations with the time bank on",
        retention: KEPT_ACCOUNT,
        fields: &[plain("minutes", "minutes moved on the volunteer's account")],
        other_columns: &["transaction_id", "account_id"],
    },
    PersonalTable {
        table: "star_application",
        subject: DataSubject::Volunteer,
        purpose: "star ratings (星级) by confirmed hours",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("stars", "stars asked for"),
            plain("hours", "confirmed hours"),
            plain("reason", "the decision's reason"),
        ],
        other_columns: &[
            "id",
            "volunteer_id",
            "threshold_hours",
            "decide_region",
            "status",
            "decided_by",
            "decided_at",
            "created_at",
        ],
    },
    PersonalTable {
        table: "star_review",
        subject: DataSubject::Volunteer,
        purpose: "reviews of star ratings",
        basis: LegalBasis::StatutoryDuty,
        readers: RECORD_READERS,
        retention: KEPT_WITH_RECORD,
        fields: &[plain("stars", "stars"), plain("hours", "confirmed hours"), plain("reason", "the decision's reason")],
        other_columns: &[
            "id",
            "application_id",
            "volunteer_id",
            "threshold_hours",
            "decide_region",
            "status",
            "decided_by",
            "decided_at",
            "created_at",
        ],
    },
    PersonalTable {
        table: "certificate_request",
        subject: DataSubject::Volunteer,
        purpose: "a volunteer's request for a service-record certificate",
        basis: LegalBasis::StatutoryDuty,
        readers: "the volunteer; the issuing organisation's recorders or the region's officers",
        retention: KEPT_WITH_RECORD,
        fields: &[
            plain("from_day", "period asked for, from"),
            plain("to_day", "to"),
            plain("decline_reason", "why it was declined"),
        ],
        other_columns: &[
            "id",
            "volunteer_id",
            "organisation_id",
            "route_organisation_id",
            "route_region",
            "status",
            "certificate_number",
            "created_at",
            "declined_by",
            "declined_at",
        ],
    },
    PersonalTable {
        table: "certificate",
        subject: DataSubject::Volunteer,
        purpose: "issued service-record certificates (志愿服务记录证明), verifiable by their number",
        basis: LegalBasis::StatutoryDuty,
        readers: "the volunteer; the issuer; anyone with the number sees a masked summary",
        retention: "permanent, so a certificate can always be verified",
        fields: &[
            plain("content", "the signed content: name, ID type and masked number, days, minutes, stars"),
            plain("total_minutes", "total minutes"),
            plain("revoke_reason", "why it was revoked"),
        ],
        other_columns: &[
            "number",
            "request_id",
            "volunteer_id",
            "signature",
            "key_id",
            "issuer_organisation_id",
            "issuer_region",
            "issued_by",
            "issued_at",
            "revoked_by",
            "revoked_at",
        ],
    },
    PersonalTable {
        table: "signup",
        subject: DataSubject::Volunteer,
        purpose: "sign-ups for activities before the day",
        basis: LegalBasis::Consent,
        readers: "the volunteer; staff of the activity's organisation",
        retention: "kept; nothing erases it automatically",
        fields: &[plain("status", "applied, approved, waiting, cancelled…"), plain("reason", "a decision's reason")],
        other_columns: &[
            "id",
            "activity_id",
            "slot_id",
            "volunteer_id",
            "decided_by",
            "decided_at",
            "created_at",
            "updated_at",
        ],
    },
    PersonalTable {
        table: "roster_member",
        subject: DataSubject::Volunteer,
        purpose: "which volunteers an organisation brought in from its own roster, so exports and imports know them",
        basis: LegalBasis::Consent,
        readers: "staff of the organisation; administrators",
        retention: KEPT_WITH_RECORD,
        fields: &[plain("roster_import_id", "the import that brought them in (none when linked by hand)")],
        other_columns: &["organisation_id", "volunteer_id", "created_at"],
    },
    PersonalTable {
        table: "training_completion",
        subject: DataSubject::Volunteer,
        purpose: "who completed a training an activity requires before signing up",
        basis: LegalBasis::Consent,
        readers: "staff of the organisation that recorded it",
        retention: "kept; nothing erases it automatically",
        fields: &[plain("training", "the training's name")],
        other_columns: &["id", "organisation_id", "volunteer_id", "recorded_by", "recorded_at"],
    },
    PersonalTable {
        table: "no_show",
        subject: DataSubject::Volunteer,
        purpose: "which approved volunteers did not come, recorded when the activity was finalised",
        basis: LegalBasis::Consent,
        readers: "staff of the activity's organisation; never published, never exported",
        retention: "kept; nothing erases it automatically",
        fields: &[],
        other_columns: &["signup_id", "activity_id", "volunteer_id"],
    },
    PersonalTable {
        table: "activity_leader",
        subject: DataSubject::Staff,
        purpose: "which leader may run which activity",
        basis: LegalBasis::HumanResources,
        readers: "staff of the organisation; administrators",
        retention: KEPT_ACCOUNT,
        fields: &[plain("staff_id", "the leader")],
        other_columns: &["activity_id", "assigned_at"],
    },
];

/// Declared columns only one engine has: PostgreSQL numbers scans by the transaction that
/// recorded them (`recorded_by_xact`, for live boards), SQLite by row id.
pub const ONE_ENGINE_ONLY: &[&str] = &["scan.recorded_by_xact"];

/// Tables that hold no personal data, and why (a row here names at most the staff
/// member who acted, in a `*_by` column).
pub const NOT_PERSONAL_TABLES: &[(&str, &str)] = &[
    (
        "roster_import",
        "an organisation's roster upload: counts, the file's name and digest (not the file), who uploaded it \
         (a staff id), and whether it is published or was refused",
    ),
    ("exchange_export", "an export for the national system: what kind, how many, by whom (staff ids)"),
    ("exchange_export_item", "which volunteer, activity or register entry ids an export held, so none is sent twice"),
    ("activity_cancellation", "an activity's cancellation: reason, by whom (a staff id), when"),
    ("no_show_record", "that an activity's no-shows were recorded: by whom (a staff id), when"),
    ("organisation", "organisations: legal persons, not natural ones"),
    ("organisation_seal", "an organisation's seal image"),
    ("activity", "activities: what, where, when"),
    ("activity_closure", "when an activity's sessions were closed"),
    ("activity_finalisation", "when an activity was finalised"),
    ("activity_review_settings", "an activity's review rules"),
    ("recipient_satisfaction", "the recipients' satisfaction with an activity, in aggregate"),
    ("bootstrap_token", "the first administrator's one-time token (hashed), before any person exists"),
    ("calendar_year", "working-day calendars"),
    ("calendar_overlay", "regional calendar changes"),
    ("publicity_rule", "how long publicity lasts"),
    ("report_batch", "batches reported to civil affairs: counts and totals"),
    ("report_item", "which register entries a batch holds"),
    ("wechat_delivery", "delivery state of a notification (the message is in `notification`)"),
    ("screen_key", "projectors' code-signing keys"),
    ("time_bank_setting", "an organisation's time-bank settings"),
    ("star_rule", "a province's star thresholds"),
    ("certificate_sequence", "the last certificate number used each year"),
    ("recruitment", "an activity's recruitment settings"),
    ("recruitment_slot", "an activity's roles and capacities"),
];

/// One row of the inventory as served and written: one personal column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InventoryRow {
    /// `table.column`.
    pub column: String,
    /// Whose data.
    pub subject: DataSubject,
    /// What it holds.
    pub holds: String,
    /// Why it is kept.
    pub purpose: String,
    /// The legal basis.
    pub legal_basis: LegalBasis,
    /// Who can read it.
    pub readers: String,
    /// How long it is kept.
    pub retention: String,
    /// How it is kept at rest.
    pub protection: Protection,
}

/// The whole inventory, one row per personal column, in declaration order.
pub fn rows() -> Vec<InventoryRow> {
    PERSONAL_TABLES
        .iter()
        .flat_map(|t| {
            t.fields.iter().map(|f| InventoryRow {
                column: format!("{}.{}", t.table, f.column),
                subject: t.subject,
                holds: f.holds.to_owned(),
                purpose: t.purpose.to_owned(),
                legal_basis: f.basis.unwrap_or(t.basis),
                readers: t.readers.to_owned(),
                retention: t.retention.to_owned(),
                protection: f.protection,
            })
        })
        .collect()
}

/// The inventory for `by`: administrators only (it maps where every personal value is,
/// which is for whoever answers for the installation's data protection).
pub fn inventory_for(by: &crate::identity::Principal) -> Result<Vec<InventoryRow>, crate::error::CoreError> {
    crate::identity::guards::require_administrator(by)?;
    Ok(rows())
}

/// `docs/data-inventory.md`, generated.
pub fn render_markdown() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "# Data inventory (个人信息清单)\n\n\
         Generated from `core/src/data_inventory.rs` (`HOURMARK_REGENERATE_DOCS=1 cargo nextest run -E \
         'test(/data_inventory/)'` rewrites it); do not edit by hand. Administrators read the same \
         facts at `GET /api/v1/data-inventory`. A test fails when a migration adds a column or a table \
         this inventory does not classify.\n\n\
         Protection: **sealed** = encrypted with AES-256-GCM under the PII keys from configuration \
         (never stored in the database); **keyed hash** = HMAC under the PII lookup key (finds a value, \
         cannot show it); **hashed** = SHA-256 of a random secret; **plain** = stored as is, behind \
         access control. ID and phone numbers are masked in every answer but the volunteer's own.\n\n\
         Legal bases (PIPL art. 13): ",
    );
    let bases = [LegalBasis::StatutoryDuty, LegalBasis::Consent, LegalBasis::HumanResources];
    let named: Vec<_> = bases.iter().map(|b| b.describe()).collect();
    let _ = writeln!(out, "{}.\n", named.join("; "));
    for table in PERSONAL_TABLES {
        let _ = writeln!(out, "## `{}`\n", table.table);
        let _ = writeln!(out, "- whose: {}", subject_name(table.subject));
        let _ = writeln!(out, "- purpose: {}", table.purpose);
        let _ = writeln!(out, "- legal basis: {}", table.basis.describe());
        let _ = writeln!(out, "- who can read it: {}", table.readers);
        let _ = writeln!(out, "- retention: {}", table.retention);
        let _ = writeln!(out, "- other columns (not personal on their own): {}\n", table.other_columns.join(", "));
        out.push_str("| column | holds | protection | basis (if not the table's) |\n|---|---|---|---|\n");
        for f in table.fields {
            let basis = f.basis.filter(|b| *b != table.basis).map_or("", |b| b.describe());
            let _ = writeln!(out, "| `{}` | {} | {} | {} |", f.column, f.holds, protection_name(f.protection), basis);
        }
        out.push('\n');
    }
    out.push_str("## Tables without personal data\n\n| table | what it holds |\n|---|---|\n");
    for (table, why) in NOT_PERSONAL_TABLES {
        let _ = writeln!(out, "| `{table}` | {why} |");
    }
    out
}

fn subject_name(subject: DataSubject) -> &'static str {
    match subject {
        DataSubject::Volunteer => "volunteers",
        DataSubject::Staff => "staff",
        DataSubject::Public => "members of the public (and the volunteer concerned)",
        DataSubject::Anyone => "whoever acted or holds the session",
    }
}

fn protection_name(protection: Protection) -> &'static str {
    match protection {
        Protection::Sealed => "**sealed**",
        Protection::KeyedHash => "keyed hash",
        Protection::Hashed => "hashed",
        Protection::Plain => "plain",
    }
}

/// What the catalogue has that the inventory does not say, and the reverse: empty when
/// they agree. `catalogue` is every (table, columns) of the migrated schema, migration
/// bookkeeping excluded.
pub fn disagreements(catalogue: &[(String, Vec<String>)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, columns) in catalogue {
        if let Some(declared) = PERSONAL_TABLES.iter().find(|t| t.table == table) {
            for column in columns {
                let known = declared.fields.iter().any(|f| f.column == column)
                    || declared.other_columns.contains(&column.as_str());
                if !known {
                    problems.push(format!(
                        "{table}.{column} is not in the data inventory: add it to core/src/data_inventory.rs as a \
                         personal field (with what it holds) or among the table's other columns"
                    ));
                }
            }
            for declared_column in
                declared.fields.iter().map(|f| f.column).chain(declared.other_columns.iter().copied())
            {
                let optional = ONE_ENGINE_ONLY.contains(&format!("{table}.{declared_column}").as_str());
                if !optional && !columns.iter().any(|c| c == declared_column) {
                    problems.push(format!("{table}.{declared_column} is in the data inventory but not in the schema"));
                }
            }
        } else if !NOT_PERSONAL_TABLES.iter().any(|(t, _)| t == table) {
            problems.push(format!(
                "table {table} is not classified: add it to PERSONAL_TABLES or NOT_PERSONAL_TABLES in \
                 core/src/data_inventory.rs"
            ));
        }
    }
    for table in PERSONAL_TABLES.iter().map(|t| t.table).chain(NOT_PERSONAL_TABLES.iter().map(|(t, _)| *t)) {
        if !catalogue.iter().any(|(t, _)| t == table) {
            problems.push(format!("table {table} is in the data inventory but not in the schema"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_declared_once_and_every_row_says_what_it_holds() {
        let mut tables: Vec<_> =
            PERSONAL_TABLES.iter().map(|t| t.table).chain(NOT_PERSONAL_TABLES.iter().map(|(t, _)| *t)).collect();
        let count = tables.len();
        tables.sort_unstable();
        tables.dedup();
        assert_eq!(tables.len(), count, "a table is declared twice");
        for row in rows() {
            assert!(!row.holds.is_empty() && !row.purpose.is_empty(), "{row:?}");
        }
    }

    #[test]
    fn sealed_identity_numbers_are_declared_sealed() {
        let row = |c: &str| rows().into_iter().find(|r| r.column == c).expect(c);
        assert_eq!(row("volunteer.id_number_sealed").protection, Protection::Sealed);
        assert_eq!(row("volunteer.phone_sealed").protection, Protection::Sealed);
        assert_eq!(row("volunteer.skills").legal_basis, LegalBasis::Consent);
    }
}
