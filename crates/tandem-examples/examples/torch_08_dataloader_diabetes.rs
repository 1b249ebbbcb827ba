//! PyTorch lesson 08: a `Dataset` over `diabetes.csv.gz`, a shuffled `DataLoader`, and the
//! 8-6-4-1 sigmoid network with `BCELoss` and `SGD(lr=0.1)`, trained for 500 epochs (the
//! sigmoid stack sits at the majority-class rate, 0.65, for the first hundred or so).
//!
//! Run: `cargo run --release --example torch_08_dataloader_diabetes`

use std::sync::Arc;
use tandem::data::csv::{loadtxt, LoadTxt};
use tandem::torch::nn::{BCELoss, Linear, Module, Sequential, Sigmoid};
use tandem::torch::optim::{Optimizer, SGD};
use tandem::torch::utils::data::{DataLoader, TensorDataset};
use tandem::{torch, Tensor};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    torch::manual_seed(0);
    let path = tandem::data::course::file("diabetes.csv.gz")?;
    let xy = loadtxt(path, LoadTxt::default())?;
    let (x, y) = (
        xy.narrow(1, 0, 8).contiguous(),
        xy.narrow(1, 8, 1).contiguous(),
    );
    let dataset = Arc::new(TensorDataset::new(x.clone(), y.clone())?);
    let train_loader = DataLoader::new(dataset, 32).shuffle(true).seed(0);

    let model = Sequential::new()
        .add(Linear::new(8, 6))
        .add(Sigmoid)
        .add(Linear::new(6, 4))
        .add(Sigmoid)
        .add(Linear::new(4, 1))
        .add(Sigmoid);
    let criterion = BCELoss::new();
    let mut optimizer = SGD::new(model.parameters(), 0.1, 0.0);
    for epoch in 0..500 {
        let mut last = 0.0;
        for (inputs, labels) in train_loader.iter() {
            let y_pred = model.forward(&inputs);
            let loss = criterion.forward(&y_pred, &labels);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            last = loss.item::<f32>();
        }
        if epoch % 100 == 0 {
            println!("epoch {epoch:3} loss {last:.4}");
        }
    }
    let pred: Tensor = torch::no_grad(|| model.forward(&x)).gt(0.5).float();
    println!("accuracy: {:.4}", pred.eq(&y).float().mean().item::<f32>());
    Ok(())
}
