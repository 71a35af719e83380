//! Review: the anomaly rules, the flags they raise, a recorder's decisions on them, and
//! finalising an activity once nothing is left unresolved.

pub mod rules;
