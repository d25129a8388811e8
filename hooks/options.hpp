// hooks/options.hpp — which hook families are on (weft-run --no-dns,
// --no-signals set WEFT_DNS=off, WEFT_SIGNALS=off). Read once, on first use;
// callable anywhere, also before main.
#pragma once

namespace weft::hooks {

// dns_hooked() is false with WEFT_DNS=off: the resolver calls are glibc's.
bool dns_hooked() noexcept;
// signals_hooked() is false with WEFT_SIGNALS=off: sigaction & co. are
// glibc's, and a caught signal ends no parked call.
bool signals_hooked() noexcept;

}  // namespace weft::hooks
