//! Pure rental-domain logic (periods in the business time zone, prices, late fees): plain
//! functions over plain types, unit-tested without a database.

pub mod booking_request;
pub mod calendar;
pub mod late_fee;
pub mod order_state;
pub mod period;
pub mod pricing;
pub mod utilisation;
