//! Section 2B of the seed, TensorFlow side: the subclassed `tf.keras.Model` with
//! `Flatten(input_shape=(28, 28))` and `Dense` layers, trained on real MNIST digits with
//! `compile` / `fit`, or with the hand-written `GradientTape` loop of the lesson.
//!
//! Run: `cargo run --release --example seed_mnist_keras -- [fit|tape] [sgd|adam] [epochs]`

use tandem::tf::keras::{
    self,
    layers::{Dense, Flatten},
    Layer,
};
use tandem::{tf, Tensor};

struct Net {
    flatten: Flatten,
    l1: Dense,
    l2: Dense,
    l3: Dense,
    l4: Dense,
    l5: Dense,
}

impl Net {
    fn new() -> Net {
        Net {
            flatten: Flatten::new().input_shape(&[28, 28]),
            l1: Dense::new(520).activation("relu"),
            l2: Dense::new(320).activation("relu"),
            l3: Dense::new(240).activation("relu"),
            l4: Dense::new(120).activation("relu"),
            l5: Dense::new(10),
        }
    }
}

impl Layer for Net {
    fn name(&self) -> String {
        "net".into()
    }
    fn build(&mut self, input_shape: &[usize]) {
        let mut shape = self.flatten.output_shape(input_shape);
        for l in [
            &mut self.l1,
            &mut self.l2,
            &mut self.l3,
            &mut self.l4,
            &mut self.l5,
        ] {
            l.build(&shape);
            shape = l.output_shape(&shape);
        }
    }
    fn built(&self) -> bool {
        self.l5.built()
    }
    fn call(&self, x: &Tensor, training: bool) -> Tensor {
        let x = self.flatten.call(x, training);
        let x = self.l1.call(&x, training);
        let x = self.l2.call(&x, training);
        let x = self.l3.call(&x, training);
        let x = self.l4.call(&x, training);
        self.l5.call(&x, training)
    }
    fn output_shape(&self, _input_shape: &[usize]) -> Vec<usize> {
        vec![10]
    }
    fn trainable_weights(&self) -> Vec<Tensor> {
        [&self.l1, &self.l2, &self.l3, &self.l4, &self.l5]
            .iter()
            .flat_map(|l| l.trainable_weights())
            .collect()
    }
}

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "fit".into());
    let which = args.next().unwrap_or_else(|| "sgd".into());
    let epochs: usize = args.next().map(|e| e.parse()).transpose()?.unwrap_or(10);
    tf::random::set_seed(1);

    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::mnist::load_sample();
    let (x_train, x_test) = (x_train.float() / 255.0, x_test.float() / 255.0);
    let optimizer = match which.as_str() {
        "adam" => keras::optimizers::Adam(1e-3),
        _ => keras::optimizers::SGD(0.01, 0.5),
    };

    // Instantiate the model
    let mut model = keras::Model::from_layer(Net::new());
    if mode == "tape" {
        // The lesson's loop: logits, loss, GradientTape, apply_gradients.
        let mut opt = keras::optimizers::Optimizer::new(optimizer);
        let n = x_train.shape()[0];
        for epoch in 1..=epochs {
            let perm = tandem::torch::randperm(n);
            for idx in perm.split(64, 0) {
                let (images, labels) =
                    (x_train.index_select(0, &idx), y_train.index_select(0, &idx));
                let labels = tf::one_hot(&labels, 10);
                let tape = tf::GradientTape::new();
                let logits = model.call(&images, true);
                let loss = tf::reduce_mean(&keras::losses::categorical_crossentropy(
                    &labels, &logits, true,
                ));
                let vars = model.trainable_variables();
                let grads = tape.gradient(&loss, &vars.iter().collect::<Vec<_>>());
                opt.apply_gradients(&grads, &vars);
            }
            println!(
                "epoch {epoch}: test accuracy {:.4}",
                accuracy(&mut model, &x_test, &y_test)
            );
        }
    } else {
        // Compile the model
        model.compile(
            optimizer,
            keras::losses::SparseCategoricalCrossentropy(true),
            &["accuracy"],
        )?;
        model.fit(
            &x_train,
            &y_train,
            keras::FitArgs {
                epochs,
                batch_size: 64,
                verbose: 2,
                ..Default::default()
            },
        )?;
        let logs = model.evaluate(&x_test, &y_test, 64)?;
        println!("evaluate: {logs:?}");
    }
    println!(
        "final test accuracy: {:.4}",
        accuracy(&mut model, &x_test, &y_test)
    );
    Ok(())
}

fn accuracy(model: &mut keras::Model<Net>, x: &Tensor, y: &Tensor) -> f64 {
    let logits = model.predict(x);
    tf::math::argmax(&logits, 1)
        .eq(y)
        .float()
        .mean()
        .item::<f32>() as f64
}
