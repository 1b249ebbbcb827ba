//! Models several test files build.
#![allow(dead_code)]

use tandem_core::Tensor;
use tandem_nn::functional as F;
use tandem_nn::{Linear, Module};

/// The seed post's MNIST network: five `Linear` layers with ReLU between them, on inputs
/// flattened to 784 features.
#[derive(tandem_nn::Module)]
pub struct SeedMlp {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    l4: Linear,
    l5: Linear,
}

impl SeedMlp {
    /// Layers of widths `w[0] -> w[1] -> ... -> w[5]` (the seed's are 784, 520, 320, 240,
    /// 120, 10).
    pub fn new(w: [usize; 6]) -> SeedMlp {
        SeedMlp {
            l1: Linear::new(w[0], w[1]),
            l2: Linear::new(w[1], w[2]),
            l3: Linear::new(w[2], w[3]),
            l4: Linear::new(w[3], w[4]),
            l5: Linear::new(w[4], w[5]),
        }
    }

    /// The seed's widths.
    pub fn seed() -> SeedMlp {
        SeedMlp::new([784, 520, 320, 240, 120, 10])
    }
}

impl Module for SeedMlp {
    fn forward(&self, x: &Tensor) -> Tensor {
        let x = x.view(&[-1, 784]);
        let x = F::relu(&self.l1.forward(&x));
        let x = F::relu(&self.l2.forward(&x));
        let x = F::relu(&self.l3.forward(&x));
        let x = F::relu(&self.l4.forward(&x));
        self.l5.forward(&x)
    }
}
