//! Layers that combine several tensors: `Concatenate`, `Add`, `Multiply`, `Average`.

use tandem_core::Tensor;

/// A layer over a list of inputs (`layers.Concatenate()([a, b])`).
pub trait Merge: Send + Sync {
    /// The layer's name as `summary()` shows it.
    fn name(&self) -> String;
    /// The computation.
    fn call(&self, xs: &[Tensor]) -> Tensor;
    /// The output shape (without the batch dimension) for inputs of these shapes.
    fn output_shape(&self, shapes: &[Vec<usize>]) -> Vec<usize>;
}

fn same_shapes(layer: &str, shapes: &[Vec<usize>]) -> Vec<usize> {
    assert!(
        shapes.len() >= 2,
        "{layer}: a merge layer should be called on a list of at least 2 inputs, got {}",
        shapes.len()
    );
    for s in &shapes[1..] {
        assert_eq!(
            s, &shapes[0],
            "{layer}: inputs must have the same shape, got {:?} and {:?}",
            shapes[0], s
        );
    }
    shapes[0].clone()
}

/// `Concatenate(axis=-1)`: joins the inputs along `axis` (counted without the batch axis when
/// positive, as Keras counts with it: `axis=1` is the first feature axis).
///
/// ```
/// use tandem_keras::layers::{Concatenate, Merge};
/// let a = tandem_core::Tensor::new([[1.0, 2.0]]);
/// let b = tandem_core::Tensor::new([[3.0]]);
/// assert_eq!(Concatenate::new().call(&[a, b]).to_vec::<f32>(), vec![1.0, 2.0, 3.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Concatenate {
    axis: isize,
}

impl Default for Concatenate {
    fn default() -> Self {
        Concatenate { axis: -1 }
    }
}

impl Concatenate {
    /// Along the last axis.
    pub fn new() -> Concatenate {
        Concatenate::default()
    }

    /// `axis=k`, with the batch axis counted as Keras does (0 is the batch axis).
    pub fn axis(mut self, axis: isize) -> Concatenate {
        assert!(
            axis != 0,
            "Concatenate: cannot concatenate along the batch axis"
        );
        self.axis = axis;
        self
    }

    fn sample_axis(&self, rank: usize) -> usize {
        if self.axis < 0 {
            (rank as isize + self.axis) as usize
        } else {
            self.axis as usize - 1
        }
    }
}

impl Merge for Concatenate {
    fn name(&self) -> String {
        "concatenate".into()
    }
    fn call(&self, xs: &[Tensor]) -> Tensor {
        let refs: Vec<&Tensor> = xs.iter().collect();
        let rank = xs[0].ndim();
        Tensor::cat(&refs, (self.sample_axis(rank - 1) + 1) as isize)
    }
    fn output_shape(&self, shapes: &[Vec<usize>]) -> Vec<usize> {
        let rank = shapes[0].len();
        let ax = self.sample_axis(rank);
        let mut out = shapes[0].clone();
        for s in &shapes[1..] {
            assert_eq!(
                s.len(),
                rank,
                "Concatenate: inputs of different ranks {shapes:?}"
            );
            for (d, (&a, &b)) in shapes[0].iter().zip(s).enumerate() {
                assert!(
                    d == ax || a == b,
                    "Concatenate: a layer requires inputs with matching shapes except for the concatenation axis; got {shapes:?}"
                );
            }
            out[ax] += s[ax];
        }
        out
    }
}

macro_rules! elementwise_merge {
    ($(#[$doc:meta])* $name:ident, $keras:literal, $fold:expr, $finish:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;

        impl $name {
            /// The layer.
            pub fn new() -> $name {
                $name
            }
        }

        impl Merge for $name {
            fn name(&self) -> String {
                $keras.into()
            }
            fn call(&self, xs: &[Tensor]) -> Tensor {
                let fold: fn(&Tensor, &Tensor) -> Tensor = $fold;
                let finish: fn(Tensor, usize) -> Tensor = $finish;
                let acc = xs[1..].iter().fold(xs[0].clone(), |a, x| fold(&a, x));
                finish(acc, xs.len())
            }
            fn output_shape(&self, shapes: &[Vec<usize>]) -> Vec<usize> {
                same_shapes(stringify!($name), shapes)
            }
        }
    };
}

elementwise_merge!(
    /// `Add()`: the elementwise sum of the inputs.
    Add, "add", |a, b| a + b, |t, _| t
);
elementwise_merge!(
    /// `Multiply()`: the elementwise product of the inputs.
    Multiply, "multiply", |a, b| a * b, |t, _| t
);
elementwise_merge!(
    /// `Average()`: the elementwise mean of the inputs.
    Average, "average", |a, b| a + b, |t, n| t / n as f64
);
