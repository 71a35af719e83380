//! The review page's volunteers, a page at a time. Below the flagged days the page lists
//! volunteers twice (finalised days with their corrections, and evaluations); a large
//! event has tens of thousands of them, and a tablet can neither draw nor scroll that. A
//! recorder looks for one person by name or by the number on their card, or walks the
//! list fifty at a time.

use std::collections::BTreeSet;

use hourmark_core::error::ErrorCode;
use hourmark_core::identity::Principal;
use hourmark_core::{CoreError, Hourmark};
use serde::{Deserialize, Serialize};

/// Volunteers on a page unless `per` says otherwise.
const PER_PAGE: u32 = 50;
/// The most volunteers a page may ask for.
const MAX_PER_PAGE: u32 = 200;

/// The review page's query: the flagged days' page (as the API's) and the volunteers'.
#[derive(Debug, Deserialize)]
pub(super) struct ReviewPageQuery {
    /// Flagged days start after this day: the previous page's `next`.
    pub after: Option<String>,
    /// Flagged days on the page.
    pub limit: Option<u32>,
    /// A name or part of one, or a 12-digit volunteer number.
    pub who: Option<String>,
    /// The volunteers start after this volunteer id (the previous page's last).
    pub from: Option<i64>,
    /// Volunteers on the page, 1 to 200 (default 50).
    pub per: Option<u32>,
}

/// Whom the volunteer sections show.
#[derive(Debug)]
pub(super) struct PeoplePage {
    /// The volunteers on this page.
    pub ids: BTreeSet<i64>,
    /// What the page's heading and links need.
    pub view: PeopleView,
}

/// The search box, the counts and where the links lead, for the template (which
/// URL-encodes the search into them).
#[derive(Debug, Serialize)]
pub(super) struct PeopleView {
    /// Everyone the sections list, before any search.
    pub total: usize,
    /// What was searched for, as typed (trimmed).
    pub who: String,
    /// How many match the search (everyone without one).
    pub matched: usize,
    /// The page's first and last volunteer's place among those matched, from 1.
    pub first: usize,
    pub last: usize,
    /// The page size asked for, kept in the links.
    pub per: Option<u32>,
    /// Where the next page starts, when there is one.
    pub next: Option<i64>,
}

/// A volunteer number as printed on a card: twelve digits.
fn is_number(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// One page of `listed` (every volunteer the sections could show, with their names,
/// ascending by id), narrowed by the query's search. A number is looked up among all
/// volunteers and kept only if it is one of `listed`: the page never says who else holds
/// a number.
pub(super) async fn people_page(
    hourmark: &Hourmark,
    by: &Principal,
    activity_id: i64,
    listed: &[(i64, String)],
    query: &ReviewPageQuery,
) -> Result<PeoplePage, CoreError> {
    let per = query.per.unwrap_or(PER_PAGE);
    if per == 0 || per > MAX_PER_PAGE {
        return Err(CoreError::refused(ErrorCode::InvalidParameter, format!("per 须在 1 到 {MAX_PER_PAGE} 之间")));
    }
    let who = query.who.as_deref().unwrap_or_default().trim().to_owned();
    let numbered =
        if is_number(&who) { hourmark.reviewed_volunteer_by_number(by, activity_id, &who).await? } else { None };
    let matches = |id: i64, name: &str| {
        if who.is_empty() {
            true
        } else if is_number(&who) {
            numbered == Some(id)
        } else {
            name.contains(who.as_str())
        }
    };
    let matched: Vec<i64> = listed.iter().filter(|(id, name)| matches(*id, name)).map(|(id, _)| *id).collect();
    let start = query.from.map_or(0, |from| matched.partition_point(|id| *id <= from));
    let end = (start + per as usize).min(matched.len());
    let ids: BTreeSet<i64> = matched[start..end].iter().copied().collect();
    let next = (end < matched.len()).then(|| matched[end - 1]);
    let view = PeopleView {
        total: listed.len(),
        matched: matched.len(),
        first: start + 1,
        last: end,
        per: query.per,
        next,
        who,
    };
    Ok(PeoplePage { ids, view })
}

/// The most undecided corrections (or objections) the page lists at once, oldest first.
const OPEN_LISTED: usize = 100;

/// What a table of corrections or objections lists, and what it leaves out.
#[derive(Debug)]
pub(super) struct Listed<'a, T> {
    pub rows: Vec<&'a T>,
    /// Undecided ones past the first [`OPEN_LISTED`].
    pub open_left: usize,
    /// Decided ones of volunteers on other pages (or that the search did not find).
    pub decided_left: usize,
}

/// Narrows `items` (oldest first) as the volunteer sections are narrowed: every undecided
/// one is listed, since each waits on a recorder wherever its volunteer sits in the list
/// (up to [`OPEN_LISTED`]; deciding them brings the rest); a decided one only when its
/// volunteer is on this page, as their finalised days are.
pub(super) fn listed<'a, T>(
    items: &'a [T],
    page: &PeoplePage,
    open: impl Fn(&T) -> bool,
    volunteer: impl Fn(&T) -> Option<i64>,
) -> Listed<'a, T> {
    let mut shown = Listed { rows: Vec::new(), open_left: 0, decided_left: 0 };
    let mut open_listed = 0;
    for item in items {
        if open(item) {
            if open_listed < OPEN_LISTED {
                open_listed += 1;
                shown.rows.push(item);
            } else {
                shown.open_left += 1;
            }
        } else if volunteer(item).is_some_and(|v| page.ids.contains(&v)) {
            shown.rows.push(item);
        } else {
            shown.decided_left += 1;
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_of(ids: &[i64]) -> PeoplePage {
        let view = PeopleView { total: 0, who: String::new(), matched: 0, first: 1, last: 0, per: None, next: None };
        PeoplePage { ids: ids.iter().copied().collect(), view }
    }

    /// Undecided ones past the first hundred wait for the next refresh, counted; decided
    /// ones follow the page's volunteers, and one whose volunteer is unknown is left out.
    #[test]
    fn a_table_lists_the_first_hundred_undecided_and_this_page_s_decided() {
        // (id, open, volunteer): 105 undecided, then three decided.
        let mut items: Vec<(i64, bool, Option<i64>)> = (1..=105).map(|id| (id, true, Some(id))).collect();
        items.extend([(106, false, Some(7)), (107, false, Some(8)), (108, false, None)]);
        let shown = listed(&items, &page_of(&[7]), |i| i.1, |i| i.2);
        let ids: Vec<i64> = shown.rows.iter().map(|i| i.0).collect();
        assert_eq!(ids, (1..=OPEN_LISTED as i64).chain([106]).collect::<Vec<_>>(), "the oldest undecided first");
        assert_eq!((shown.open_left, shown.decided_left), (5, 2));
    }
}
