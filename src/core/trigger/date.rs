//! `DateTrigger`: fires once at `run_date`, whatever `now` is (a past date is still returned;
//! the scheduler's misfire rules decide what happens then).

use super::Trigger;
use crate::core::time::ZonedTime;

#[derive(Clone, Debug)]
pub struct DateTrigger {
    pub run_date: ZonedTime,
}

impl Trigger for DateTrigger {
    fn next_fire_time(&self, previous: Option<&ZonedTime>, _now: &ZonedTime) -> Option<ZonedTime> {
        match previous {
            None => Some(self.run_date),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Zone;
    use chrono::NaiveDate;

    #[test]
    fn fires_once_even_in_the_past() {
        let t = |y| ZonedTime::new(NaiveDate::from_ymd_opt(y, 1, 1).unwrap().into(), false, Zone::Utc);
        let trig = DateTrigger { run_date: t(2020) };
        assert_eq!(trig.next_fire_time(None, &t(2024)), Some(t(2020)));
        assert_eq!(trig.next_fire_time(Some(&t(2020)), &t(2020)), None);
    }
}
