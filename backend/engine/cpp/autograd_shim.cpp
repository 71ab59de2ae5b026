// Lets Rust attach a backward function to tensors it computed outside autograd (tch exposes no
// custom autograd Function). One `RustNode` per call: its next edges are the inputs' gradient
// edges, its inputs the outputs' gradients; `apply` hands the gradients to a Rust callback and
// returns the callback's input gradients. The callback context is owned by the node and released
// through `drop_fn` when the graph lets go of it.

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <torch/csrc/autograd/variable.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using torch::autograd::variable_list;

// Returns nullptr on success, else a message the caller frees with `free_message`.
// `grads[i]` (owned by the callee) is null for an output whose gradient is undefined; the callee
// stores heap tensors (or null for "no gradient") into `out[j]`, ownership passing back here.
typedef char* (*backward_fn)(void* ctx, at::Tensor** grads, int64_t n_grads, at::Tensor** out,
                             int64_t n_out);
typedef void (*drop_fn)(void* ctx);
typedef void (*free_message_fn)(char* message);

struct RustNode : torch::autograd::Node {
    RustNode(std::string name, void* ctx, backward_fn backward, drop_fn drop,
             free_message_fn free_message)
        : name_(std::move(name)), ctx_(ctx), backward_(backward), drop_(drop),
          free_message_(free_message) {}

    ~RustNode() override {
        if (ctx_ != nullptr) drop_(ctx_);
    }

    void adopt(void* ctx) { ctx_ = ctx; }

    std::string name() const override { return name_; }

    variable_list apply(variable_list&& grads) override {
        std::vector<at::Tensor*> in(grads.size(), nullptr);
        for (size_t i = 0; i < grads.size(); i++) {
            if (grads[i].defined()) in[i] = new at::Tensor(std::move(grads[i]));
        }
        const size_t n_out = num_outputs();
        std::vector<at::Tensor*> out(n_out, nullptr);
        char* error = backward_(ctx_, in.data(), static_cast<int64_t>(in.size()), out.data(),
                                static_cast<int64_t>(n_out));
        variable_list result(n_out);
        for (size_t j = 0; j < n_out; j++) {
            if (out[j] != nullptr) {
                result[j] = std::move(*out[j]);
                delete out[j];
            }
        }
        if (error != nullptr) {
            std::string message(error);
            free_message_(error);
            throw std::runtime_error(name_ + " backward: " + message);
        }
        return result;
    }

   private:
    std::string name_;
    void* ctx_;
    backward_fn backward_;
    drop_fn drop_;
    free_message_fn free_message_;
};

}  // namespace

extern "C" {

// Connects `outputs` to `inputs` through a node calling `backward`. Returns 1 when a node was
// attached (it now owns `ctx`), 0 when no input requires a gradient or grad mode is off (the
// caller keeps `ctx`), -1 on error with the message in `error` (NUL-terminated, truncated to
// `error_len`; `ctx` stays with the caller).
int meshcast_attach_backward(const char* name, at::Tensor** inputs, int64_t n_inputs,
                             at::Tensor** outputs, int64_t n_outputs, void* ctx,
                             backward_fn backward, drop_fn drop, free_message_fn free_message,
                             char* error, size_t error_len) {
    try {
        if (!torch::autograd::GradMode::is_enabled()) return 0;
        bool any = false;
        for (int64_t i = 0; i < n_inputs; i++) {
            any = any || (inputs[i]->defined() && inputs[i]->requires_grad());
        }
        if (!any) return 0;
        torch::autograd::edge_list edges;
        edges.reserve(n_inputs);
        for (int64_t i = 0; i < n_inputs; i++) {
            const at::Tensor& t = *inputs[i];
            if (t.defined() && t.requires_grad()) {
                edges.push_back(torch::autograd::impl::gradient_edge(t));
            } else {
                edges.emplace_back();
            }
        }
        std::shared_ptr<RustNode> node(new RustNode(name, nullptr, backward, drop, free_message),
                                       torch::autograd::deleteNode);
        node->set_next_edges(std::move(edges));
        for (int64_t j = 0; j < n_outputs; j++) {
            torch::autograd::set_history(*outputs[j], node);
        }
        // Only now does the node own the context: on any earlier throw the caller still does.
        node->adopt(ctx);
        return 1;
    } catch (const std::exception& e) {
        if (error_len > 0) {
            std::strncpy(error, e.what(), error_len - 1);
            error[error_len - 1] = '\0';
        }
        return -1;
    }
}

}  // extern "C"
