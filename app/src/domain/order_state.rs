//! An order's life: held (a cart) → confirmed → picked up → returned, or cancelled; which
//! moves are allowed, when a customer may still cancel, and when a rental is late.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Customers may cancel free of charge until this long before the pickup time.
pub const CANCEL_NOTICE_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Held,
    Confirmed,
    PickedUp,
    Returned,
    Cancelled,
}

impl OrderState {
    pub const ALL: [OrderState; 5] = [
        OrderState::Held,
        OrderState::Confirmed,
        OrderState::PickedUp,
        OrderState::Returned,
        OrderState::Cancelled,
    ];

    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Held => "held",
            OrderState::Confirmed => "confirmed",
            OrderState::PickedUp => "picked_up",
            OrderState::Returned => "returned",
            OrderState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// How the state reads to a customer.
    pub fn label(self) -> &'static str {
        match self {
            OrderState::Held => "In your cart",
            OrderState::Confirmed => "Confirmed",
            OrderState::PickedUp => "Picked up",
            OrderState::Returned => "Returned",
            OrderState::Cancelled => "Cancelled",
        }
    }

    /// Whether an order may move from `self` to `to`.
    pub fn can_become(self, to: OrderState) -> bool {
        use OrderState::*;
        matches!(
            (self, to),
            (Held, Confirmed)
                | (Held, Cancelled)
                | (Confirmed, PickedUp)
                | (Confirmed, Cancelled)
                | (PickedUp, Returned)
        )
    }
}

/// Why a customer may not cancel; `None` from [`customer_cancel_refusal`] means they may.
pub fn customer_cancel_refusal(
    state: OrderState,
    first_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<String> {
    match state {
        OrderState::Held | OrderState::Confirmed => {
            if first_start - now < Duration::hours(CANCEL_NOTICE_HOURS) {
                Some(format!(
                    "Orders can be cancelled online until {CANCEL_NOTICE_HOURS} hours before pickup. Please call us."
                ))
            } else {
                None
            }
        }
        OrderState::PickedUp => Some("This rental has been picked up already.".to_owned()),
        OrderState::Returned => Some("This rental is finished.".to_owned()),
        OrderState::Cancelled => Some("This order is cancelled already.".to_owned()),
    }
}

/// A rental is late when it was picked up and not returned by its end.
pub fn is_late(state: OrderState, ends: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    state == OrderState::PickedUp && now > ends
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 10, h, 0, 0).unwrap()
    }

    #[test]
    fn states_round_trip_through_their_stored_names() {
        for state in OrderState::ALL {
            assert_eq!(OrderState::parse(state.as_str()), Some(state));
        }
        assert_eq!(OrderState::parse("lost"), None);
    }

    #[test]
    fn only_forward_moves_are_allowed() {
        use OrderState::*;
        assert!(Held.can_become(Confirmed));
        assert!(Confirmed.can_become(PickedUp));
        assert!(PickedUp.can_become(Returned));
        assert!(Confirmed.can_become(Cancelled));
        assert!(!PickedUp.can_become(Cancelled));
        assert!(!Returned.can_become(PickedUp));
        assert!(!Cancelled.can_become(Confirmed));
        assert!(!Held.can_become(PickedUp));
    }

    #[test]
    fn cancelling_needs_a_day_of_notice() {
        let start = at(12) + Duration::days(2);
        assert_eq!(
            customer_cancel_refusal(OrderState::Confirmed, start, at(12)),
            None
        );
        let just_in_time = start - Duration::hours(24);
        assert_eq!(
            customer_cancel_refusal(OrderState::Confirmed, start, just_in_time),
            None
        );
        let too_late = just_in_time + Duration::minutes(1);
        assert!(customer_cancel_refusal(OrderState::Confirmed, start, too_late).is_some());
        assert!(customer_cancel_refusal(OrderState::PickedUp, start, at(0)).is_some());
        assert!(customer_cancel_refusal(OrderState::Cancelled, start, at(0)).is_some());
    }

    #[test]
    fn late_means_picked_up_and_past_the_end() {
        assert!(is_late(OrderState::PickedUp, at(10), at(11)));
        assert!(!is_late(OrderState::PickedUp, at(10), at(10)));
        assert!(!is_late(OrderState::Confirmed, at(10), at(11)));
        assert!(!is_late(OrderState::Returned, at(10), at(11)));
    }
}
