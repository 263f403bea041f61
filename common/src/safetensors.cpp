#include "edgefed/safetensors.hpp"
