#include "edgefed/update_codec.hpp"
