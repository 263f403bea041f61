#include "edgefed/model_io.hpp"
