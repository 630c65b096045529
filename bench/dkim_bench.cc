// DKIM signing's cost per message, as SigningTransport pays it on the delivery thread: the
// signature (relaxed canonicalisation, hashing, the private-key operation) and
// the copy of the message with the header before it. "off" is the copy alone: what a
// message costs there when its domain has no key.
//
//   build/bin/dkim_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <string>

#include "identity/dkim_key.h"
#include "identity/dkim_signer.h"
#include "mime/message_prep.h"

namespace mailwarden {
namespace {

std::string MessageOf(std::size_t bytes) {
  std::string m =
      "Received: from account shop (uid 1000)\r\n\tby web1 (mailwarden) with local;\r\n\t"
      "Sun, 06 Dec 2026 18:00:00 +0000\r\nFrom: Shop <orders@shop.example>\r\n"
      "To: buyer@example.net\r\nSubject: Your order 12345\r\n"
      "Date: Sun, 06 Dec 2026 18:00:00 +0000\r\nMessage-ID: <1.2@web1>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  const std::string line = "Thank you for your order; it will be sent to you tomorrow.  \r\n";
  while (m.size() < bytes) m += line;
  return m;
}

void Sign(benchmark::State& state, DkimAlgorithm algorithm, bool on) {
  InitMime();
  DkimSigner signer;
  auto key = GenerateDkimKey("shop.example", "s1", algorithm, TimePoint{});
  key->owner = 1;
  if (on) signer.SetKeys({*key});
  const std::string message = MessageOf(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto signature = signer.Sign(message, 1);
    std::string out;
    out.reserve(message.size() + (*signature ? (*signature)->size() : 0));
    if (*signature) out += **signature;
    out += message;
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["msg/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_Off(benchmark::State& s) { Sign(s, DkimAlgorithm::kRsaSha256, false); }
void BM_RsaSha256(benchmark::State& s) { Sign(s, DkimAlgorithm::kRsaSha256, true); }
void BM_Ed25519Sha256(benchmark::State& s) { Sign(s, DkimAlgorithm::kEd25519Sha256, true); }

BENCHMARK(BM_Off)->Arg(2 * 1024)->Arg(100 * 1024);
BENCHMARK(BM_RsaSha256)->Arg(2 * 1024)->Arg(100 * 1024);
BENCHMARK(BM_Ed25519Sha256)->Arg(2 * 1024)->Arg(100 * 1024);

}  // namespace
}  // namespace mailwarden

BENCHMARK_MAIN();
