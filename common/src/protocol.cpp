#include "edgefed/protocol.hpp"
