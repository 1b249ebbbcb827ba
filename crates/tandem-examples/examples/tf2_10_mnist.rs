//! Lessons tf2 10-1 to 10-5: MNIST digits with ever better networks, all trained with
//! Adam(0.001) on categorical cross-entropy in batches of 100:
//!
//! - `softmax` (10-1): one `Dense(10, softmax)`;
//! - `nn` (10-2): 784-256-256-10 with ReLU;
//! - `xavier` (10-3): the same with `kernel_initializer='glorot_normal'` (Xavier);
//! - `deep` (10-4): four `Dense(512, relu)` layers, glorot normal;
//! - `dropout` (10-5): the deep network with `Dropout(0.3)` after each hidden layer.
//!
//! As in the lessons, 10-1 scales the pixels to [0, 1] and 10-2 to 10-5 feed the raw values
//! 0..255: the networks survive the saturated softmax because `categorical_crossentropy` after
//! a softmax layer is computed from the layer's logits, as Keras does.
//!
//! Run: `cargo run --release --example tf2_10_mnist -- [softmax|nn|xavier|deep|dropout] [epochs]`
//! (default `dropout`, 15 epochs as the lessons).

use tandem::tf;
use tandem::tf::keras::{
    self,
    layers::{Dense, Dropout},
    utils::to_categorical,
    FitArgs, Sequential,
};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "dropout".into());
    let training_epochs: usize = args.next().map(|e| e.parse()).transpose()?.unwrap_or(15);
    tf::random::set_seed(777); // for reproducibility
    let learning_rate = 0.001;
    let batch_size = 100;
    let nb_classes = 10;
    let drop_rate = 0.3;

    let ((x_train, y_train), (x_test, y_test)) = keras::datasets::mnist::load_sample();
    println!("{:?}", x_train.shape());
    // 10-1 normalizes the pixels; 10-2 to 10-5 feed the raw values 0..255.
    let scale = if variant == "softmax" { 255.0 } else { 1.0 };
    let (x_train, x_test) = (x_train.float() / scale, x_test.float() / scale);
    // change data shape
    let x_train = x_train.reshape(&[x_train.shape()[0] as isize, 28 * 28]);
    let x_test = x_test.reshape(&[x_test.shape()[0] as isize, 28 * 28]);

    let y_train = to_categorical(&y_train, nb_classes)?;
    let y_test = to_categorical(&y_test, nb_classes)?;

    let mut model = Sequential::new(vec![]);
    match variant.as_str() {
        "softmax" => {
            model.add(Dense::new(10).input_dim(784).activation("softmax"));
        }
        "nn" | "xavier" => {
            // Glorot normal initializer, also called Xavier normal initializer.
            let init = if variant == "xavier" {
                "glorot_normal"
            } else {
                "glorot_uniform" // Keras's default
            };
            let dense = |units: usize| Dense::new(units).kernel_initializer(init);
            model.add(dense(256).input_dim(784).activation("relu"));
            model.add(dense(256).activation("relu"));
            model.add(dense(nb_classes).activation("softmax"));
        }
        "deep" | "dropout" => {
            let dense = |units: usize| Dense::new(units).kernel_initializer("glorot_normal");
            for layer in 0..4 {
                let hidden = dense(512).activation("relu");
                model.add(if layer == 0 {
                    hidden.input_dim(784)
                } else {
                    hidden
                });
                if variant == "dropout" {
                    model.add(Dropout::new(drop_rate));
                }
            }
            model.add(dense(nb_classes).activation("softmax"));
        }
        other => {
            return Err(format!("unknown variant {other:?}: softmax|nn|xavier|deep|dropout").into())
        }
    }
    model.compile(
        keras::optimizers::Adam(learning_rate),
        "categorical_crossentropy",
        &["accuracy"],
    )?;
    print!("{}", model.summary());

    model.fit(
        &x_train,
        &y_train,
        FitArgs {
            epochs: training_epochs,
            batch_size,
            verbose: 2,
            ..Default::default()
        },
    )?;

    // predict 10 hand-written digits (the lesson picks them at random)
    let y_predicted = model.predict(&x_test);
    let actual = tf::argmax(&y_test, 1).to_vec::<i64>();
    let predicted = tf::argmax(&y_predicted, 1).to_vec::<i64>();
    for index in (0..10).map(|i| i * 197) {
        println!(
            "index:  {index} actual y:  {} predicted y:  {}",
            actual[index], predicted[index]
        );
    }

    // evaluate test set
    let evaluation = model.evaluate(&x_test, &y_test, batch_size)?;
    let value = |name: &str| evaluation.iter().find(|(k, _)| k == name).map(|(_, v)| *v);
    println!("loss:  {}", value("loss").unwrap_or(f64::NAN));
    println!("accuracy {}", value("accuracy").unwrap_or(0.0));
    Ok(())
}
