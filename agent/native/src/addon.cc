#include <napi.h>

#include "bpf_session.h"
#include "doctor_probes.h"
#include "libbpf_log.h"
#include "signal_session.h"
#include "span_session.h"

namespace kiln {
namespace {

class DoctorWorker : public Napi::AsyncWorker {
 public:
  DoctorWorker(Napi::Env env, bool startup) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), startup_(startup) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { results_ = startup_ ? run_startup_checks() : run_doctor_probes(); }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) {
      Napi::Object row = Napi::Object::New(env);
      row.Set("facility", results_[i].facility);
      row.Set("ok", results_[i].ok);
      row.Set("detail", results_[i].detail);
      out.Set(static_cast<uint32_t>(i), row);
    }
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  bool startup_;
  std::vector<ProbeResult> results_;
};

Napi::Value RunDoctor(const Napi::CallbackInfo& info) {
  bool startup = info.Length() > 0 && info[0].IsObject() && info[0].As<Napi::Object>().Get("startup").ToBoolean().Value();
  auto* worker = new DoctorWorker(info.Env(), startup);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace
}  // namespace kiln

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  kiln::install_libbpf_log();
  exports.Set("runDoctor", Napi::Function::New(env, kiln::RunDoctor, "runDoctor"));
  exports.Set("BpfSession", kiln::BpfSession::Define(env));
  exports.Set("SpanSession", kiln::SpanSession::Define(env));
  exports.Set("SignalSession", kiln::SignalSession::Define(env));
  return exports;
}

NODE_API_MODULE(kiln_agent, InitAddon)
