//! The schedule's shape: units down, shop-local days across, each booking a bar placed by real
//! minutes from the window's start (so a 23- or 25-hour DST day is drawn as long as it is).
//! Pure geometry, shared by the server (which fills it) and the page (which draws it).

use serde::{Deserialize, Serialize};

/// Days the schedule shows unless asked.
pub const DEFAULT_DAYS: u32 = 14;
/// Most days one schedule shows.
pub const MAX_DAYS: u32 = 62;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayColumn {
    /// `YYYY-MM-DD`
    pub date: String,
    /// e.g. "Mo 14"
    pub label: String,
    /// Minutes from the window's start to this day's local midnight.
    pub x: u32,
    pub weekend: bool,
    pub today: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleBar {
    /// Minutes from the window's start, clipped to the window.
    pub start: u32,
    pub end: u32,
    /// `held`, `confirmed`, `picked_up` or `returned`.
    pub state: String,
    /// Out with the customer past its end; `overdue_end` is where the lateness reaches now.
    pub late: bool,
    pub overdue_end: u32,
    pub order_number: String,
    /// What a pointer or screen reader gets: who, what, when.
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRow {
    pub unit_label: String,
    pub product_name: String,
    pub product_slug: String,
    pub status: String,
    pub bars: Vec<ScheduleBar>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleView {
    /// First day shown, `YYYY-MM-DD`.
    pub from: String,
    pub days: u32,
    /// Length of the window in minutes (the bars' coordinate space).
    pub width: u32,
    pub columns: Vec<DayColumn>,
    pub rows: Vec<ScheduleRow>,
    pub categories: Vec<(String, String)>,
    pub category: Option<String>,
    pub previous: String,
    pub next: String,
    pub bookings: usize,
}

/// Minutes from `window_start` to `at`, clipped to `[0, width]`.
pub fn minutes_into(window_start_secs: i64, at_secs: i64, width: u32) -> u32 {
    let minutes = (at_secs - window_start_secs).div_euclid(60);
    u32::try_from(minutes.clamp(0, i64::from(width))).unwrap_or(0)
}

/// The path of the lane's day separators: one vertical line at each day's start.
pub fn day_lines(columns: &[DayColumn], height: u32) -> String {
    columns
        .iter()
        .skip(1)
        .map(|c| format!("M{} 0V{height}", c.x))
        .collect::<Vec<_>>()
        .join("")
}

/// The schedule URL for a window and category.
pub fn schedule_href(from: &str, days: u32, category: Option<&str>) -> String {
    let mut href = format!("/admin/schedule?from={from}&days={days}");
    if let Some(category) = category {
        href.push_str("&category=");
        href.push_str(&crate::catalog_query::encode(category));
    }
    href
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_clipped_to_the_window() {
        let start = 1_000_000;
        assert_eq!(minutes_into(start, start - 3600, 1440), 0);
        assert_eq!(minutes_into(start, start + 90 * 60, 1440), 90);
        assert_eq!(minutes_into(start, start + 90 * 60 + 59, 1440), 90);
        assert_eq!(minutes_into(start, start + 3 * 86_400, 1440), 1440);
    }

    #[test]
    fn day_lines_separate_the_days() {
        let day = |x| DayColumn {
            date: String::new(),
            label: String::new(),
            x,
            weekend: false,
            today: false,
        };
        assert_eq!(
            day_lines(&[day(0), day(1440), day(2820)], 20),
            "M1440 0V20M2820 0V20"
        );
    }
}
