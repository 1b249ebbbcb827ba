//! The networks `tandem train` trains, in each idiom: the seed's MLP and the tf2 lesson 11-1
//! CNN (Conv 16@3x3, max-pool, Conv 32@3x3, max-pool, dense 10).

use crate::Idiom;
use clap::ValueEnum;
use tandem::tf::keras::{
    self,
    layers::{Conv2D, Dense, Flatten, Input, MaxPooling2D, Reshape},
};
use tandem::torch::nn::{self, Conv2d, Flatten as TorchFlatten, Linear, MaxPool2d, ReLU};

/// Which network to train.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The seed's 784-520-320-240-120-10 ReLU network
    Mlp,
    /// Conv 16@3x3 + ReLU, max-pool 2, Conv 32@3x3 + ReLU, max-pool 2, dense 10
    Cnn,
}

/// The network in the torch idiom (`nn.Sequential`), on `[N, 1, 28, 28]` or `[N, 784]` input.
pub fn torch_model(kind: ModelKind) -> nn::Sequential {
    match kind {
        ModelKind::Mlp => nn::Sequential::new()
            .add(TorchFlatten)
            .add(Linear::new(784, 520))
            .add(ReLU)
            .add(Linear::new(520, 320))
            .add(ReLU)
            .add(Linear::new(320, 240))
            .add(ReLU)
            .add(Linear::new(240, 120))
            .add(ReLU)
            .add(Linear::new(120, 10)),
        ModelKind::Cnn => nn::Sequential::new()
            .add(Conv2d::new(1, 16, 3))
            .add(ReLU)
            .add(MaxPool2d::new(2))
            .add(Conv2d::new(16, 32, 3))
            .add(ReLU)
            .add(MaxPool2d::new(2))
            .add(TorchFlatten)
            .add(Linear::new(32 * 5 * 5, 10)),
    }
}

/// The network in the Keras idiom, on `[N, 28, 28]` images scaled to [0, 1]; it ends in
/// logits (compile with `SparseCategoricalCrossentropy(from_logits=True)`).
pub fn keras_model(kind: ModelKind) -> keras::Sequential {
    let layers: Vec<Box<dyn keras::Layer>> = match kind {
        ModelKind::Mlp => vec![
            Box::new(Flatten::new().input_shape(&[28, 28])),
            Box::new(Dense::new(520).activation("relu")),
            Box::new(Dense::new(320).activation("relu")),
            Box::new(Dense::new(240).activation("relu")),
            Box::new(Dense::new(120).activation("relu")),
            Box::new(Dense::new(10)),
        ],
        ModelKind::Cnn => vec![
            Box::new(Input::new(&[28, 28])),
            Box::new(Reshape::new(&[28, 28, 1])),
            Box::new(Conv2D::new(16, 3).activation("relu")),
            Box::new(MaxPooling2D::new(2)),
            Box::new(Conv2D::new(32, 3).activation("relu")),
            Box::new(MaxPooling2D::new(2)),
            Box::new(Flatten::new()),
            Box::new(Dense::new(10)),
        ],
    };
    keras::Sequential::new(layers)
}

/// How images enter the torch network: `[N, 1, 28, 28]` floats in [0, 1].
pub fn torch_input(x: &tandem::Tensor) -> tandem::Tensor {
    (x.float() / 255.0).reshape(&[-1, 1, 28, 28])
}

/// How images enter the Keras network: `[N, 28, 28]` floats in [0, 1].
pub fn keras_input(x: &tandem::Tensor) -> tandem::Tensor {
    (x.float() / 255.0).reshape(&[-1, 28, 28])
}

/// The idiom and model a checkpoint directory was written with.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug)]
pub struct RunInfo {
    pub idiom: Idiom,
    pub model: ModelKind,
}
