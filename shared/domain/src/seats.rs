//! Seats: occupied = invited + accepted + confirmed memberships.

use serde::{Deserialize, Serialize};

/// The organization's seat settings.
///
/// `limit: None` is unlimited. With `autoscale_max`, the subscription grows
/// by itself to fit what is occupied, up to that ceiling: the seat count an
/// organization pays for is `max(limit, occupied)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeatPlan {
    pub limit: Option<u32>,
    pub autoscale_max: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no seats: {occupied} occupied of {capacity}, {wanted} more wanted")]
pub struct NoSeats {
    pub occupied: u32,
    pub capacity: u32,
    pub wanted: u32,
}

impl SeatPlan {
    /// A plan is coherent when the autoscale ceiling is not below the limit,
    /// and autoscaling has a base limit to grow from.
    pub fn is_valid(&self) -> bool {
        match (self.limit, self.autoscale_max) {
            (Some(l), Some(a)) => a >= l,
            (None, Some(_)) => false,
            _ => true,
        }
    }

    /// The most seats that may ever be occupied; `None` is unlimited.
    pub fn capacity(&self) -> Option<u32> {
        self.limit
            .map(|l| self.autoscale_max.map_or(l, |a| a.max(l)))
    }

    /// The seat count of the subscription with `occupied` seats in use.
    pub fn subscribed(&self, occupied: u32) -> Option<u32> {
        self.limit.map(|l| {
            if self.autoscale_max.is_some() {
                l.max(occupied)
            } else {
                l
            }
        })
    }

    /// Can `wanted` more seats be taken when `occupied` are?
    pub fn check(&self, occupied: u32, wanted: u32) -> Result<(), NoSeats> {
        match self.capacity() {
            None => Ok(()),
            Some(capacity) if occupied.saturating_add(wanted) <= capacity => Ok(()),
            Some(capacity) => Err(NoSeats {
                occupied,
                capacity,
                wanted,
            }),
        }
    }

    /// The highest `occupied` that still leaves room for `wanted` more — the
    /// condition a store writes with a reservation (negative: no room at all).
    /// `None` when unlimited.
    pub fn max_occupied_before(&self, wanted: u32) -> Option<i64> {
        self.capacity().map(|c| i64::from(c) - i64::from(wanted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_always_has_room() {
        let p = SeatPlan::default();
        assert_eq!(p.check(1_000_000, 1_000), Ok(()));
        assert_eq!(p.capacity(), None);
        assert_eq!(p.max_occupied_before(5), None);
    }

    #[test]
    fn limit_without_autoscale() {
        let p = SeatPlan {
            limit: Some(10),
            autoscale_max: None,
        };
        assert_eq!(p.check(9, 1), Ok(()));
        assert_eq!(
            p.check(10, 1),
            Err(NoSeats {
                occupied: 10,
                capacity: 10,
                wanted: 1
            })
        );
        assert_eq!(
            p.check(5, 6),
            Err(NoSeats {
                occupied: 5,
                capacity: 10,
                wanted: 6
            })
        );
        assert_eq!(p.max_occupied_before(3), Some(7));
        assert_eq!(p.max_occupied_before(11), Some(-1));
        assert_eq!(p.subscribed(3), Some(10));
    }

    #[test]
    fn autoscale_grows_to_its_ceiling() {
        let p = SeatPlan {
            limit: Some(10),
            autoscale_max: Some(15),
        };
        assert_eq!(p.check(10, 5), Ok(()));
        assert!(p.check(15, 1).is_err());
        assert_eq!(p.subscribed(12), Some(12));
        assert_eq!(p.subscribed(4), Some(10));
        assert_eq!(p.max_occupied_before(5), Some(10));
    }

    #[test]
    fn incoherent_plans_are_invalid() {
        assert!(
            !SeatPlan {
                limit: Some(10),
                autoscale_max: Some(5)
            }
            .is_valid()
        );
        assert!(
            !SeatPlan {
                limit: None,
                autoscale_max: Some(5)
            }
            .is_valid()
        );
        assert!(
            SeatPlan {
                limit: Some(0),
                autoscale_max: None
            }
            .is_valid()
        );
    }
}
