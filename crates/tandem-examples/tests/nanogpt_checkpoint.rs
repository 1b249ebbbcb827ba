//! A state dict saved by PyTorch from nanoGPT's `GPT` (`tests/fixtures/nanogpt_tiny.pt`, made by
//! `tools/goldens/gen_nanogpt_goldens.py` after 30 AdamW steps) loads by name into the
//! `torch_gpt_shakespeare` lesson's model, keeps the output layer tied to the token embedding,
//! and gives PyTorch's logits and loss.

use tandem::torch;
use tandem::torch::nn::Module;
use tandem_core::testing::{assert_close_json, load_json, tensor};
use tandem_examples::torch_gpt_shakespeare::{Gpt, GptConfig};

#[test]
fn a_nanogpt_state_dict_from_pytorch_loads_by_name_and_gives_its_logits() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let fx = load_json(format!("{dir}nanogpt_tiny.json"));
    let c = &fx["config"];
    let u = |k: &str| c[k].as_u64().unwrap() as usize;
    let model = Gpt::new(GptConfig {
        block_size: u("block_size"),
        vocab_size: u("vocab_size"),
        n_layer: u("n_layer"),
        n_head: u("n_head"),
        n_embd: u("n_embd"),
    });
    let state = torch::load(format!("{dir}nanogpt_tiny.pt")).unwrap();
    let keys: Vec<&str> = state.keys().collect();
    assert!(keys.contains(&"lm_head.weight") && keys.contains(&"transformer.wte.weight"));
    let report = model.load_state_dict(&state.into_vec(), true).unwrap();
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    // Still one tensor under both names, as in nanoGPT.
    assert!(model.lm_head.weight.same(&model.transformer.wte.weight));
    assert_eq!(model.parameters().len(), 15);

    let (idx, targets) = (tensor(&fx["idx"]), tensor(&fx["targets"]));
    let logits = torch::no_grad(|| model.logits(&idx));
    assert_close_json("logits", &logits, &fx["logits"], 1e-5);
    let loss = torch::no_grad(|| model.loss(&idx, &targets)).item::<f64>();
    let want = fx["loss"].as_f64().unwrap();
    assert!((loss - want).abs() < 1e-5, "loss {loss}, PyTorch {want}");
}
