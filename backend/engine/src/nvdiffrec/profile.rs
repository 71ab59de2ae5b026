//! Per-phase wall time of the training loop, for the benchmark's breakdown: with profiling on,
//! the device is synchronized at every mark, so each phase is charged for its own GPU work.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tch::{Device, Tensor};

use crate::EngineError;
use crate::autograd::attach_backward;

/// Accumulates seconds per named phase (in first-seen order).
#[derive(Debug)]
pub struct PhaseTimer {
    enabled: bool,
    device: Device,
    last: Instant,
    /// Seconds per phase.
    pub totals: Vec<(&'static str, f64)>,
    /// Backward events: (marker, time) in the order autograd reached them.
    events: Arc<Mutex<Vec<(&'static str, Instant)>>>,
}

impl PhaseTimer {
    /// A timer that does nothing unless `enabled`.
    pub fn new(enabled: bool, device: Device) -> Self {
        Self { enabled, device, last: Instant::now(), totals: Vec::new(), events: Arc::default() }
    }

    /// `t` unchanged; when profiling, its backward records when autograd reaches it, so
    /// [`PhaseTimer::mark_backward`] can split the backward pass between markers.
    pub fn marker(&self, name: &'static str, t: &Tensor) -> Result<Tensor, EngineError> {
        if !self.enabled || !t.requires_grad() {
            return Ok(t.shallow_clone());
        }
        let out = tch::no_grad(|| t.f_detach_copy())?;
        let (events, device) = (self.events.clone(), self.device);
        attach_backward(
            "profile_marker",
            &[t],
            &[&out],
            Box::new(move |grads| {
                if let Device::Cuda(i) = device {
                    tch::Cuda::synchronize(i as i64);
                }
                if let Ok(mut e) = events.lock() {
                    e.push((name, Instant::now()));
                }
                Ok(vec![grads[0].as_ref().map(Tensor::shallow_clone)])
            }),
        )?;
        Ok(out)
    }

    /// Ends a backward pass started at the previous mark: charges the time up to each marker
    /// to `backward ← marker` and the rest to `backward (rest)`.
    pub fn mark_backward(&mut self) {
        if !self.enabled {
            return;
        }
        self.sync();
        let events: Vec<(&'static str, Instant)> =
            self.events.lock().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default();
        let mut previous = self.last;
        for (name, at) in events {
            self.add(name, at.duration_since(previous).as_secs_f64());
            previous = at;
        }
        let now = Instant::now();
        self.add("backward (rest)", now.duration_since(previous).as_secs_f64());
        self.last = now;
    }

    fn add(&mut self, phase: &'static str, seconds: f64) {
        match self.totals.iter_mut().find(|(name, _)| *name == phase) {
            Some((_, total)) => *total += seconds,
            None => self.totals.push((phase, seconds)),
        }
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
        self.add(phase, seconds);
    }

    fn sync(&self) {
        if let Device::Cuda(i) = self.device {
            tch::Cuda::synchronize(i as i64);
        }
    }
}
