//! What the staff pages show, as plain serialisable types shared by server and browser. Times
//! are formatted on the server in the shop's zone; amounts stay `Decimal`.

use crate::domain::booking_request::FieldError;
use crate::model::OrderEventView;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How many rows a staff list shows per page.
pub const ADMIN_PAGE_SIZE: u32 = 25;

/// One rental line as the counter sees it (today's pickups and returns, late rentals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterLine {
    pub order_number: String,
    pub customer_name: String,
    pub product_name: String,
    pub unit_label: String,
    pub starts: String,
    pub ends: String,
    /// "2 hours and 5 minutes" when the line is overdue.
    pub late_by: Option<String>,
}

/// A cart hold that runs out soon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiringHold {
    pub order_number: String,
    pub customer_name: String,
    pub product_name: String,
    pub unit_label: String,
    pub minutes_left: i64,
}

/// One bar of a chart: its label (a day, a category) and value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartPoint {
    pub label: String,
    pub value: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardView {
    pub today: String,
    pub pickups: Vec<CounterLine>,
    pub returns: Vec<CounterLine>,
    pub late: Vec<CounterLine>,
    pub expiring_holds: Vec<ExpiringHold>,
    /// Lines out with customers now.
    pub active_rentals: i64,
    /// Booked share of the bookable unit time this week (Monday to Sunday), in percent.
    pub utilisation_week: Decimal,
    /// Rental revenue of lines picked up this month plus late fees charged this month.
    pub revenue_month: Decimal,
    pub units_in_maintenance: i64,
    /// Confirmed bookings on units that are in maintenance: someone must act.
    pub bookings_on_blocked_units: i64,
    pub revenue_by_day: Vec<ChartPoint>,
    pub utilisation_by_category: Vec<ChartPoint>,
    pub month_title: String,
    pub currency: String,
}

/// The orders list's filters as they are in the URL, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrderFilter {
    pub state: Option<String>,
    /// Shop-local dates `YYYY-MM-DD`: orders with a line starting in this range.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Part of a customer's name or email.
    pub customer: Option<String>,
    pub late: bool,
    pub page: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrderRow {
    pub number: String,
    pub state_label: String,
    pub customer_name: String,
    pub customer_email: String,
    pub items: String,
    pub starts: String,
    pub ends: String,
    pub total: Decimal,
    pub is_late: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrderList {
    pub rows: Vec<AdminOrderRow>,
    pub filter: OrderFilter,
    pub error: Option<FieldError>,
    pub page: u32,
    pub total_pages: u32,
    pub total: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRef {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// One line of an order with what staff may do with it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminLine {
    pub reservation_id: i64,
    pub product_name: String,
    pub product_slug: String,
    pub unit_label: String,
    pub starts: String,
    pub ends: String,
    pub state: String,
    pub state_label: String,
    pub late_by: Option<String>,
    pub picked_up_at: Option<String>,
    pub returned_at: Option<String>,
    pub return_condition: Option<String>,
    pub return_note: String,
    pub late_fee: Decimal,
    pub rental_total: Decimal,
    pub can_pick_up: bool,
    pub can_return: bool,
    /// Other units of the product that are free for this line, to hand out instead.
    pub other_units: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOrderView {
    pub number: String,
    pub state: String,
    pub state_label: String,
    pub customer: Option<CustomerRef>,
    pub lines: Vec<AdminLine>,
    pub rental_total: Decimal,
    pub deposit: Decimal,
    pub late_fee: Decimal,
    pub total_due: Decimal,
    pub is_late: bool,
    pub can_confirm: bool,
    pub can_cancel: bool,
    pub events: Vec<OrderEventView>,
    pub currency: String,
}

/// What taking a line back now would charge, shown before staff confirm the return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnPreview {
    pub reservation_id: i64,
    pub product_name: String,
    pub unit_label: String,
    /// The instant the fee is computed for (RFC 3339); the confirmation uses this same time.
    pub returned_at: String,
    pub returned_at_label: String,
    pub due: String,
    pub late_by: Option<String>,
    pub fee: Decimal,
    /// e.g. "3 started hours × €5.00"; empty when nothing is charged.
    pub explanation: String,
}

/// The condition a unit came back in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReturnCondition {
    Ok,
    NeedsCleaning,
    Damaged,
}

impl ReturnCondition {
    pub const ALL: [ReturnCondition; 3] = [
        ReturnCondition::Ok,
        ReturnCondition::NeedsCleaning,
        ReturnCondition::Damaged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReturnCondition::Ok => "ok",
            ReturnCondition::NeedsCleaning => "needs_cleaning",
            ReturnCondition::Damaged => "damaged",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            ReturnCondition::Ok => "OK",
            ReturnCondition::NeedsCleaning => "Needs cleaning",
            ReturnCondition::Damaged => "Damaged",
        }
    }

    /// A unit that needs work goes to maintenance and is not booked until staff release it.
    pub fn needs_maintenance(self) -> bool {
        self != ReturnCondition::Ok
    }
}

/// A change staff made, as shown on the object it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffActionView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRow {
    pub slug: String,
    pub name: String,
    pub category: String,
    pub published: bool,
    pub daily_price: Decimal,
    pub units_available: i64,
    pub units_total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRow {
    pub id: i64,
    pub label: String,
    pub unit: String,
    pub length: i32,
    pub price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRow {
    pub id: i64,
    pub label: String,
    pub status: String,
    pub status_note: String,
    pub since: String,
    /// Held or confirmed bookings of this unit that are not over yet.
    pub upcoming: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRow {
    pub key: String,
    pub position: i32,
    pub alt: String,
    pub width: i32,
    pub height: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub joined: String,
    pub orders: i64,
    pub last_order: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub queue: String,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: String,
    pub updated: String,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRow {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub created: String,
    pub sent: Option<String>,
    pub job_state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTotals {
    pub orders: i64,
    pub cancelled: i64,
    pub rental: Decimal,
    pub late_fees: Decimal,
    /// Rental and late fees of orders that were not cancelled.
    pub revenue: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminProductList {
    pub rows: Vec<ProductRow>,
    pub search: Option<String>,
    pub page: u32,
    pub total_pages: u32,
    pub total: i64,
    pub currency: String,
}

/// One product with everything staff edit on its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminProductView {
    pub form: crate::admin::product_form::ProductForm,
    pub categories: Vec<(String, String)>,
    pub tiers: Vec<TierRow>,
    pub units: Vec<UnitRow>,
    pub photos: Vec<PhotoRow>,
    pub history: Vec<StaffActionView>,
    pub currency: String,
    /// The largest photo staff may upload, in MB.
    pub upload_limit_mb: usize,
}

/// The new-product page: the categories to choose from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewProductView {
    pub categories: Vec<(String, String)>,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerList {
    pub rows: Vec<CustomerRow>,
    pub search: Option<String>,
    pub page: u32,
    pub total_pages: u32,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerView {
    pub customer: CustomerRow,
    pub orders: Vec<AdminOrderRow>,
    pub page: u32,
    pub total_pages: u32,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsView {
    pub counts: Vec<(String, i64)>,
    pub queued: Vec<JobRow>,
    pub running: Vec<JobRow>,
    pub failed: Vec<JobRow>,
    pub emails: Vec<EmailRow>,
    /// True when emails go to the outbox folder (no SMTP configured).
    pub outbox: bool,
    pub history: Vec<StaffActionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportView {
    pub from: String,
    pub to: String,
    pub totals: Option<ReportTotals>,
    pub error: Option<FieldError>,
    pub currency: String,
    /// The CSV download for this period.
    pub csv_href: String,
}
