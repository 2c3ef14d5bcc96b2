// Precompiled header of every test executable (cmake/pch.cmake): third_party.h plus GoogleTest and GoogleMock.
#pragma once

#include "third_party.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
