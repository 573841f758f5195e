#include "common/clock.h"

namespace vigil {

const SystemClock& SystemClock::Get() {
  static const SystemClock clock;
  return clock;
}

}  // namespace vigil
