//! Per-phase wall time of the training loop, for the benchmark's breakdown: with profiling on,
//! the device is synchronized at every mark, so each phase is charged for its own GPU work.

use std::time::Instant;

use tch::Device;

/// Accumulates seconds per named phase (in first-seen order).
#[derive(Debug)]
pub struct PhaseTimer {
    enabled: bool,
    device: Device,
    last: Instant,
    /// Seconds per phase.
    pub totals: Vec<(&'static str, f64)>,
}

impl PhaseTimer {
    /// A timer that does nothing unless `enabled`.
    pub fn new(enabled: bool, device: Device) -> Self {
        Self { enabled, device, last: Instant::now(), totals: Vec::new() }
    }

    /// Starts timing from now (the work since the last mark is not charged).
    pub fn restart(&mut self) {
        if self.enabled {
            self.sync();
            self.last = Instant::now();
        }
    }

    /// Charges the time since the previous mark to `phase`.
    pub fn mark(&mut self, phase: &'static str) {
        if !self.enabled {
            return;
        }
        self.sync();
        let now = Instant::now();
        let seconds = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        match self.totals.iter_mut().find(|(name, _)| *name == phase) {
            Some((_, total)) => *total += seconds,
            None => self.totals.push((phase, seconds)),
        }
    }

    fn sync(&self) {
        if let Device::Cuda(i) = self.device {
            tch::Cuda::synchronize(i as i64);
        }
    }
}
