#include "edgefed/tls.hpp"
