//! `#[derive(Module)]`: implements `tandem_nn::Params` for a struct by visiting its fields in
//! order, so that `named_parameters()` gives PyTorch's dotted names (`l1.weight`). Fields that
//! hold no parameters (numbers, strings) are visited as no-ops; `#[module(skip)]` skips any
//! other field.

#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields};

/// Derives `Params` (parameter visiting and train/eval propagation) from the fields.
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let nn = nn_path();
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let Data::Struct(data) = &input.data else {
        return syn::Error::new_spanned(&input, "#[derive(Module)] supports structs only")
            .to_compile_error()
            .into();
    };
    let mut visits = Vec::new();
    let mut trains = Vec::new();
    let fields: Vec<(proc_macro2::TokenStream, String)> = match &data.fields {
        Fields::Named(f) => f
            .named
            .iter()
            .filter(|field| !skipped(&field.attrs))
            .map(|field| {
                let id = field.ident.as_ref().expect("named");
                (quote!(#id), id.to_string())
            })
            .collect(),
        Fields::Unnamed(f) => f
            .unnamed
            .iter()
            .enumerate()
            .filter(|(_, field)| !skipped(&field.attrs))
            .map(|(i, _)| {
                let idx = syn::Index::from(i);
                (quote!(#idx), i.to_string())
            })
            .collect(),
        Fields::Unit => Vec::new(),
    };
    for (access, label) in &fields {
        visits.push(quote! {
            #nn::Params::visit(&self.#access, &#nn::join_name(prefix, #label), f);
        });
        trains.push(quote! {
            #nn::Params::set_training(&mut self.#access, on);
        });
    }
    quote! {
        impl #impl_generics #nn::Params for #name #ty_generics #where_clause {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &#nn::Tensor)) {
                #(#visits)*
            }
            fn set_training(&mut self, on: bool) {
                #(#trains)*
            }
        }
    }
    .into()
}

/// Where `Params` lives for the crate using the derive: `tandem::nn` for users of the facade,
/// `tandem_nn` for users of the nn crate itself.
fn nn_path() -> proc_macro2::TokenStream {
    use proc_macro_crate::{crate_name, FoundCrate};
    if let Ok(found) = crate_name("tandem") {
        let root = match found {
            // examples and tests of the facade itself name it as an extern crate
            FoundCrate::Itself => quote!(::tandem),
            FoundCrate::Name(n) => {
                let id = syn::Ident::new(&n, proc_macro2::Span::call_site());
                quote!(::#id)
            }
        };
        return quote!(#root::nn);
    }
    match crate_name("tandem-nn") {
        Ok(FoundCrate::Name(n)) => {
            let id = syn::Ident::new(&n, proc_macro2::Span::call_site());
            quote!(::#id)
        }
        _ => quote!(::tandem_nn),
    }
}

fn skipped(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("module")
            && a.parse_args::<syn::Ident>()
                .map(|i| i == "skip")
                .unwrap_or(false)
    })
}
