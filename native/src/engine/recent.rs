//! The engine's most recent execution reports, kept for subscribers (`events_since`): a
//! bounded window, oldest first, of every report any request produced, per call or in a
//! batch. The engine's sequence numbers have no gaps, so a report is found by arithmetic.
//! Kept as the engine's own structs, so a report costs no Python object until asked for.

use std::collections::VecDeque;

use super::Report;

/// At most `cap` reports, the newest last (`cap` 0 keeps none).
#[derive(Debug, Default)]
pub struct Recent {
    cap: usize,
    reports: VecDeque<Report>,
}

impl Recent {
    /// Keep at most `cap` reports from now on (the oldest go at once if there are more).
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
        let extra = self.reports.len().saturating_sub(cap);
        self.reports.drain(..extra);
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.reports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// Keep `reports` (in order), dropping the oldest past the bound.
    pub fn keep(&mut self, reports: &[Report]) {
        if self.cap == 0 {
            return;
        }
        let skip = reports.len().saturating_sub(self.cap);
        for report in &reports[skip..] {
            if self.reports.len() == self.cap {
                self.reports.pop_front();
            }
            self.reports.push_back(report.clone());
        }
    }

    /// Up to `limit` reports with a sequence number above `seq`, oldest first (none when
    /// `seq` is at or past the newest; from the oldest kept when `seq` is older than that).
    pub fn since(&self, seq: i64, limit: usize) -> impl Iterator<Item = &Report> {
        let start = match (self.reports.front(), self.reports.back()) {
            (Some(first), Some(last)) if last.seq > seq => {
                usize::try_from(seq.saturating_add(1).saturating_sub(first.seq)).unwrap_or(0)
            }
            _ => self.reports.len(),
        };
        self.reports
            .range(start.min(self.reports.len())..)
            .take(limit)
    }
}
